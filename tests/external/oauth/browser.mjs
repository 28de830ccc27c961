// A scripted person at a browser for prodlink's sign-in and consent pages: follows the
// authorization URL, signs in, reads the consent form (hidden fields and CSRF token) and
// presses Allow (or Deny). Returns the URL prodlink finally redirects to (the client's
// redirect_uri with code/state/iss). Plain fetch, no dependencies; redirects are followed by
// hand so every hop is checked.

function unescape(s) {
  return s.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** The hidden inputs of the form that posts to `action`. */
export function hiddenFields(html, action) {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form posting to ${action} in:\n${html.slice(0, 2000)}`);
  const form = html.slice(start, html.indexOf('</form>', start));
  const fields = [];
  for (const chunk of form.split('<input').slice(1)) {
    const attr = (name) => {
      const m = chunk.match(new RegExp(`${name}="([^"]*)"`));
      return m ? unescape(m[1]) : undefined;
    };
    if (attr('type') === 'hidden') fields.push([attr('name'), attr('value') ?? '']);
  }
  return fields;
}

export class Browser {
  constructor({ email, password, decision = 'allow' }) {
    this.email = email;
    this.password = password;
    this.decision = decision;
    this.cookie = undefined;
    this.consentPages = 0;
  }

  async request(url, init = {}) {
    const headers = new Headers(init.headers ?? {});
    if (this.cookie) headers.set('cookie', this.cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return res;
  }

  async post(url, fields) {
    const origin = new URL(url).origin;
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Walks the flow from the authorization URL to the client's redirect URI. */
  async authorize(authorizationUrl) {
    let url = new URL(authorizationUrl);
    const site = url.origin;
    for (let hop = 0; hop < 10; hop++) {
      if (url.origin !== site) return url; // left prodlink: the client's redirect URI
      const res = await this.request(url);
      if (res.status === 302 || res.status === 303) {
        url = new URL(res.headers.get('location'), url);
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${html.slice(0, 500)}`);
      if (url.pathname === '/o/login/') {
        const fields = hiddenFields(html, '/o/login/');
        fields.push(['email', this.email], ['password', this.password]);
        const r = await this.post(`${site}/o/login/`, fields);
        if (r.status !== 303) throw new Error(`sign-in failed with ${r.status}: ${(await r.text()).slice(0, 500)}`);
        url = new URL(r.headers.get('location'), url);
        continue;
      }
      if (url.pathname === '/o/authorize/') {
        this.consentPages++;
        const fields = hiddenFields(html, '/o/authorize/');
        fields.push(['decision', this.decision]);
        const r = await this.post(`${site}/o/authorize/`, fields);
        if (r.status !== 303) throw new Error(`consent failed with ${r.status}: ${(await r.text()).slice(0, 500)}`);
        url = new URL(r.headers.get('location'), url);
        continue;
      }
      throw new Error(`unexpected page ${url}`);
    }
    throw new Error('too many redirects');
  }
}
