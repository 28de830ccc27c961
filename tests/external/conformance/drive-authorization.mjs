// Runs the conformance suite's authorization-server scenarios (`conformance authorization`)
// and plays the user: when the suite prints the authorization URL, a scripted browser signs in
// at prodlink, allows the request, and delivers the redirect to the suite's callback server.
//   node drive-authorization.mjs EMAIL PASSWORD -- <conformance command and args…>
import { spawn } from 'node:child_process';
import { Browser } from '../oauth/browser.mjs';

const sep = process.argv.indexOf('--');
const [email, password] = process.argv.slice(2, sep);
const [cmd, ...args] = process.argv.slice(sep + 1);
const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let driven = false;
let buffer = '';
child.stdout.on('data', async (chunk) => {
  process.stdout.write(chunk);
  buffer += chunk.toString();
  const m = !driven && buffer.match(/https?:\/\/\S+\/o\/authorize\/\?\S+/);
  if (!m) return;
  driven = true;
  try {
    const callback = await new Browser({ email, password }).authorize(m[0]);
    const res = await fetch(callback);
    console.log(`[driver] delivered the redirect to ${callback.origin}${callback.pathname}: ${res.status}`);
  } catch (e) {
    console.error(`[driver] could not complete the authorization: ${e.stack ?? e}`);
    child.kill();
    process.exitCode = 1;
  }
});
child.on('exit', (code) => {
  if (!driven) console.error('[driver] the suite never printed an authorization URL');
  process.exit(process.exitCode || code || (driven ? 0 : 1));
});
