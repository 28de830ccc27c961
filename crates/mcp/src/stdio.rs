//! MCP over stdio (docs/spec.md §3, MCP "stdio" transport): newline-delimited JSON-RPC on stdin,
//! responses on stdout, one line each, nothing else on stdout (logs go to stderr). The
//! negotiated revision is remembered for the life of the process; there is no OAuth, the
//! process acts for the operator (or for `--as-user`).

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::server::{CallContext, Handled, McpServer, Principal, Transport};
use crate::version::ProtocolVersion;

/// Longest accepted line; longer ones are answered with an error and skipped.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// Serves until stdin closes.
pub async fn serve<R, W>(
    server: &McpServer,
    principal: Principal,
    input: R,
    mut output: W,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    let mut ctx = CallContext {
        version: ProtocolVersion::LATEST,
        principal,
        request_id: None,
        transport: Transport::Stdio,
        rejection: None,
        resource_metadata: None,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            // Skip the rest of the oversized line, then report it.
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest).await?;
            let msg = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{{\"code\":-32600,\"message\":\"message exceeds {MAX_LINE_BYTES} bytes\"}}}}\n"
            );
            output.write_all(msg.as_bytes()).await?;
            output.flush().await?;
            continue;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if let Handled::Reply(reply) = server.handle(text, &ctx).await {
            if let Some(v) = reply.negotiated {
                ctx.version = v;
            }
            output.write_all(&reply.body).await?;
            output.write_all(b"\n").await?;
            output.flush().await?;
        }
    }
}
