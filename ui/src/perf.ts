/**
 * User Timing marks of the console's start-up (`performance.getEntriesByType("mark")`), read by
 * the console benchmark (tests/e2e/bench.mjs) to show where the time between spawn and an
 * interactive queue goes. Each mark is recorded once per page load; a mark costs next to nothing.
 */
export type StartMark =
  | "script" // the bundle's entry module runs
  | "status" // the installation's status is known (the sign-in screen can show)
  | "signin" // the sign-in form is on screen
  | "signed-in" // the sign-in command answered
  | "queue-data" // the first queue page arrived
  | "queue-rows"; // the first queue rows are on screen

const done = new Set<StartMark>();

export function markStart(name: StartMark): void {
  if (done.has(name)) return;
  done.add(name);
  try {
    performance.mark(`digimed:${name}`);
  } catch {
    // No User Timing (very old engines): nothing to record.
  }
}
