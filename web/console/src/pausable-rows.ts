import { useCallback, useRef, useState } from "react";

/**
 * The rows of a live view, newest first and at most `limit` of them. While paused,
 * arrivals are held (and counted) and shown together on resume, so a reader's place
 * does not move under them. `add` is stable: subscriptions set up once may call it.
 */
export function usePausableRows<T>(limit: number) {
  const [rows, setRows] = useState<T[]>([]);
  const [paused, setPaused] = useState(false);
  const [heldCount, setHeldCount] = useState(0);
  // Read by `add`, which outlives renders: state would be stale there.
  const pausedRef = useRef(false);
  const held = useRef<T[]>([]);

  /** `batch` is newest first. */
  const add = useCallback(
    (batch: T[]) => {
      if (pausedRef.current) {
        held.current = [...batch, ...held.current].slice(0, limit);
        setHeldCount(held.current.length);
      } else {
        setRows((list) => [...batch, ...list].slice(0, limit));
      }
    },
    [limit],
  );

  const togglePause = () => {
    const next = !pausedRef.current;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      const flushed = held.current;
      held.current = [];
      setHeldCount(0);
      setRows((list) => [...flushed, ...list].slice(0, limit));
    }
  };

  return { rows, paused, heldCount, add, togglePause, clear: () => setRows([]) };
}
