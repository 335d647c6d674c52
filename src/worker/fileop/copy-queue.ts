/**
 * A bounded set of file copies in flight. A COPY of many files used to run each copy on the main thread
 * (copyFileSync): the event loop stalled for the whole copy, and the other platform's copy, the context
 * hash and the layer compression all queued behind it. Copies now run on libuv's thread pool, at most
 * `limit` at a time per copier, so the walk goes on while the data moves and memory stays bounded.
 *
 * Callers group tasks by what must be finished before they go on (a directory's times are set after its
 * children are written): `start` gives the task's own promise (boxed, so that awaiting `start` waits only
 * for the slot) to put in such a group, and `settle`
 * waits for a group. A failure is reported once every task of the group has stopped, so nothing is still
 * writing when the caller's error handling removes the destination.
 */
export class CopyQueue {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Waits for a free slot, then starts `task`; `done` is the task's completion. */
  async start(task: () => Promise<void>): Promise<{ done: Promise<void> }> {
    while (this.#running.size >= this.#limit) {
      // Only waits for a slot: the task's failure is reported to whoever settles its group.
      await Promise.race([...this.#running].map((p) => p.catch(() => undefined)));
    }
    const done = task();
    const tracked = done.then(
      () => {
        this.#running.delete(tracked);
      },
      () => {
        this.#running.delete(tracked);
      },
    );
    this.#running.add(tracked);
    return { done };
  }
}

/** Waits for every task of a group; rethrows the first failure once all have stopped. */
export async function settle(group: readonly Promise<void>[]): Promise<void> {
  if (group.length === 0) return;
  const results = await Promise.allSettled(group);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}
