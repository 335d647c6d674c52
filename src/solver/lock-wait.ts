/**
 * Taking a vertex lock on behalf of a step the user watches: when the wait lasts, the step shows a
 * progress line naming the process and lock it waits for, so a build never sits silent on another one.
 */
import type { RunEnv } from "./run-env.ts";
import type { Lock, LockHolder } from "./vertex-lock.ts";

export function holderText(holder: LockHolder): string {
  const who = holder.pid === undefined ? "another polyarch process" : `polyarch process ${holder.pid}`;
  return `waiting for ${who} (lock ${holder.path})`;
}

/**
 * Acquires lock `name` for vertex `id`. `show` is called before the first progress line when the step is
 * not on screen yet (a step is started only once it is known to run).
 */
export async function acquireForStep(
  env: RunEnv,
  name: string,
  id: string,
  label: string,
  show?: () => void,
): Promise<Lock> {
  let shown: { statusId: string; text: string } | undefined;
  const end = () => {
    if (shown) env.progress.status(id, shown.statusId, shown.text, { done: true });
  };
  try {
    return await env.ws.locks.acquire(name, {
      signal: env.signal,
      label,
      onWait: (holder) => {
        if (shown === undefined) show?.();
        end();
        shown = { statusId: `lock-${holder.pid ?? "unknown"}-${holder.path}`, text: holderText(holder) };
        env.progress.status(id, shown.statusId, shown.text);
      },
    });
  } finally {
    end();
  }
}
