import { useCallback, useLayoutEffect, useRef, useState } from "preact/hooks";
import { logError, toAppError, type AppError } from "./errors";

/** What every command of the bindings answers. */
export type CommandResult<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

/** What to do with a command's answer. */
export interface Answered<T> {
  /** The data of a successful answer. A promise it returns is awaited; its rejection counts as an error. */
  ok?: (data: T) => unknown;
  /** The error: the command's own, Tauri's refusal of the call, or a rejection (as an `internal` error). */
  failed?: (error: AppError) => void;
}

/** Awaits a command and hands on its data or its error; rejects only when `failed` itself throws. */
async function settle<T>(call: Promise<CommandResult<T>>, on: Answered<T>): Promise<void> {
  let answer: CommandResult<T>;
  try {
    answer = await call;
  } catch (e) {
    on.failed?.(toAppError(e));
    return;
  }
  if (answer.status === "error") {
    // Tauri itself answers a refused call with a plain string, which the bindings pass on as the error.
    on.failed?.(toAppError(answer.error));
    return;
  }
  try {
    await on.ok?.(answer.data);
  } catch (e) {
    on.failed?.(toAppError(e));
  }
}

const unshown = (e: unknown) => logError("an error could not be shown", e);

/**
 * Calls a command whose answer only fills the screen (a list, a toggle): `ok` gets the data,
 * `failed` every error, a rejection included. Nothing is left unhandled.
 */
export function callCommand<T>(call: Promise<CommandResult<T>>, on: Answered<T> & { failed: (error: AppError) => void }): void {
  settle(call, on).catch(unshown);
}

/**
 * A command a person starts from a form or dialog, with its busy and error state. `run(call, on)`
 * marks the form busy until the answer is handled, clears the error on success and keeps the
 * error (the command's, or a rejection as an `internal` error) until the next success or
 * `setError`. The caller checks `busy` before starting a second call.
 */
export function useCommand() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  const run = useCallback(<T>(call: Promise<CommandResult<T>>, on: Answered<T> = {}): void => {
    setBusy(true);
    settle(call, {
      ok: (data) => {
        setError(null);
        return on.ok?.(data);
      },
      failed: (e) => {
        setError(e);
        on.failed?.(e);
      },
    })
      .catch(unshown)
      .finally(() => setBusy(false));
  }, []);

  return {
    busy,
    error,
    setError,
    run,
    /** The message of the error when it is about `field`, to show under that field. */
    fieldError: (field: string): string | null => (error?.field === field ? error.message : null),
    /** The error when it is about none of the form's `fields`, to show as an alert. */
    generalError: (fields: readonly string[]): AppError | null =>
      error && !fields.includes(error.field ?? "") ? error : null,
  };
}

/**
 * `callCommand` for a read a screen repeats as its filters or its subject change: only the answer
 * to the latest call is handed on. An earlier call's answer that arrives after it (answers need
 * not come back in order) is dropped, so the screen never shows a list for a filter no longer
 * chosen.
 */
export function useLatestRead() {
  const latest = useRef(0);
  return useCallback(<T>(call: Promise<CommandResult<T>>, on: Answered<T> & { failed: (error: AppError) => void }): void => {
    const mine = ++latest.current;
    callCommand(call, {
      ok: (data) => (mine === latest.current ? on.ok?.(data) : undefined),
      failed: (e) => {
        if (mine === latest.current) on.failed(e);
      },
    });
  }, []);
}

/**
 * A list a screen shows and reads again when it may have changed (a live update, an action): its
 * rows, null until the first answer; the error of the latest read, cleared by the next answer; and
 * `load`, which reads it again. The first read leaves before the screen is painted, and only the
 * latest read's answer is shown (`useLatestRead`).
 */
export function useListRead<T>(list: () => Promise<CommandResult<T[]>>) {
  const [rows, setRows] = useState<T[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const read = useLatestRead();
  const load = useCallback(() => {
    read(list(), {
      ok: (data) => {
        setRows(data);
        setError(null);
      },
      failed: setError,
    });
  }, [read, list]);
  useLayoutEffect(load, [load]);
  return { rows, error, load };
}
