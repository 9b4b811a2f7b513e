import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { commands, events, type Consultation, type DeadlineStatus, type QueueEvent } from "../bindings";
import { toAppError, type AppError } from "../errors";
import type { MessageKey } from "../i18n";
import { callCommand } from "../useCommand";

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

/** Changes of consultations: what the queues show. */
export const consultationChanges = (e: QueueEvent) => e.consultation_id !== null;

/** Referrals arriving, screened, booked or declined: what the screening list shows. */
export const referralChanges = (e: QueueEvent) => e.referral_id !== null && e.kind !== "update";

/** Whether a screen follows the database's changes: `live` once it does, `notLive` saying why not. */
export interface Liveness {
  live: boolean;
  notLive: AppError | null;
}

/**
 * Calls `onChange` whenever the database reports a change of the queue or the screening list
 * (those `wanted` says, when given). Starts the console's watcher (one per signed-in session)
 * and listens for its events; nothing is polled. Once both are up, `onChange` is called once
 * more, so that a change made between the screen's first read and the watcher's start is not
 * missed, and `live` becomes true. `notLive` says why the screen is not live, when the watcher
 * or the listener could not start, for the screen to show.
 */
export function useQueueChanges(onChange: () => void, wanted?: (e: QueueEvent) => boolean): Liveness {
  const latest = useRef(onChange);
  latest.current = onChange;
  const wants = useRef(wanted);
  wants.current = wanted;
  const [notLive, setNotLive] = useState<AppError | null>(null);
  const [live, setLive] = useState(false);
  // Started before the screen's first paint, beside its first queue request.
  useLayoutEffect(() => {
    let stop: (() => void) | null = null;
    let active = true;
    let pending = 2;
    const failed = (e: AppError) => {
      if (active) setNotLive(e);
    };
    const started = () => {
      pending -= 1;
      if (pending === 0 && active) {
        latest.current();
        setLive(true);
      }
    };
    callCommand(commands.watchQueue(), { ok: started, failed });
    events.queueChanged
      .listen((e) => {
        if (!wants.current || wants.current(e.payload)) latest.current();
      })
      .then(
        (unlisten) => {
          if (active) {
            stop = unlisten;
            started();
          } else unlisten();
        },
        (e: unknown) => failed(toAppError(e)),
      );
    return () => {
      active = false;
      stop?.();
    };
  }, []);
  return { live, notLive };
}
