/** Writes text and resolves once the stream has taken it (or failed: progress output is never fatal). */
export function writeAndWait(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    try {
      out.write(text, () => resolve());
    } catch {
      resolve();
    }
  });
}
