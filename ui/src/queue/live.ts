import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { commands, events, type Consultation, type DeadlineStatus } from "../bindings";
import type { MessageKey } from "../i18n";

/** Seconds the consultation has waited at `now`: fixed once it started, else counted from `created_at`. */
export function waitingSeconds(c: Consultation, now: number): number {
  if (c.starts_at) return c.waiting_seconds;
  return Math.max(0, Math.floor((now - Date.parse(c.created_at)) / 1000));
}

export type WaitingOrder = "longest" | "shortest";

/** The consultations ordered by waiting time; ties keep the older id first. */
export function sortByWaiting(rows: readonly Consultation[], now: number, order: WaitingOrder): Consultation[] {
  const sign = order === "longest" ? -1 : 1;
  return [...rows].sort(
    (a, b) => sign * (waitingSeconds(a, now) - waitingSeconds(b, now)) || a.id - b.id,
  );
}

/** The badge text of a deadline status, or null when none is worth showing. */
export function deadlineKey(status: DeadlineStatus): MessageKey | null {
  switch (status) {
    case "near":
      return "deadline.near";
    case "breached":
      return "deadline.breached";
    case "on_track":
      return "deadline.on_track";
    case "met":
      return "deadline.met";
    default:
      return null;
  }
}

/** The current time, re-read every `intervalMs` (a minute by default) so waiting clocks move. */
export function useNow(intervalMs = 60_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/**
 * Calls `onChange` whenever the database reports a queue change. Starts the console's watcher
 * (one per signed-in session) and listens for its events; nothing is polled.
 */
export function useQueueChanges(onChange: () => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  // Started before the screen's first paint, beside its first queue request.
  useLayoutEffect(() => {
    let stop: (() => void) | null = null;
    let active = true;
    try {
      void commands.watchQueue?.()?.catch?.(() => undefined);
      const listening = events?.queueChanged?.listen?.(() => latest.current());
      listening?.then(
        (unlisten) => {
          if (active) stop = unlisten;
          else unlisten();
        },
        () => undefined,
      );
    } catch {
      // Without the desktop shell (tests, a plain browser) there are no live events.
    }
    return () => {
      active = false;
      stop?.();
    };
  }, []);
}
