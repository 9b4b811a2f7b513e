import { act, renderHook, waitFor } from "@testing-library/preact";
import { describe, expect, it, vi } from "vitest";
import type { AppError } from "./errors";
import { callCommand, useCommand, useLatestRead, type CommandResult } from "./useCommand";

/** A command answer the test hands over when it chooses. */
function pending<T>() {
  let answer: (value: CommandResult<T>) => void = () => {};
  let fail: (reason: unknown) => void = () => {};
  const promise = new Promise<CommandResult<T>>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  return { promise, answer, fail };
}

const refused: AppError = { code: "invalid_input", message: "Give a reason.", field: "reason" };

describe("useCommand", () => {
  it("is busy while the command runs and hands its data to `ok`", async () => {
    const { result } = renderHook(() => useCommand());
    const call = pending<number>();
    const ok = vi.fn();
    expect(result.current.busy).toBe(false);

    await act(() => result.current.run(call.promise, { ok }));
    expect(result.current.busy).toBe(true);
    expect(ok).not.toHaveBeenCalled();

    await act(() => call.answer({ status: "ok", data: 7 }));
    await waitFor(() => expect(result.current.busy).toBe(false));
    expect(ok).toHaveBeenCalledWith(7);
    expect(result.current.error).toBeNull();
  });

  it("keeps the error, under its field, until a command succeeds", async () => {
    const { result } = renderHook(() => useCommand());
    const failed = vi.fn();

    await act(() => result.current.run(Promise.resolve({ status: "error", error: refused }), { failed }));
    await waitFor(() => expect(result.current.busy).toBe(false));
    expect(result.current.error).toEqual(refused);
    expect(failed).toHaveBeenCalledWith(refused);
    expect(result.current.fieldError("reason")).toBe("Give a reason.");
    expect(result.current.fieldError("note")).toBeNull();
    expect(result.current.generalError(["reason"])).toBeNull();
    expect(result.current.generalError(["note"])).toEqual(refused);

    // Still shown while the next try runs.
    const retry = pending<null>();
    await act(() => result.current.run(retry.promise));
    expect(result.current.busy).toBe(true);
    expect(result.current.error).toEqual(refused);

    await act(() => retry.answer({ status: "ok", data: null }));
    await waitFor(() => expect(result.current.busy).toBe(false));
    expect(result.current.error).toBeNull();
  });

  it("shows a rejected call as an internal error instead of losing it", async () => {
    const { result } = renderHook(() => useCommand());
    const call = pending<number>();
    const ok = vi.fn();
    const failed = vi.fn();

    await act(() => result.current.run(call.promise, { ok, failed }));
    await act(() => call.fail(new Error("the IPC bridge is gone")));
    await waitFor(() => expect(result.current.busy).toBe(false));
    expect(result.current.error).toEqual({ code: "internal", message: "the IPC bridge is gone" });
    expect(failed).toHaveBeenCalledWith({ code: "internal", message: "the IPC bridge is gone" });
    expect(ok).not.toHaveBeenCalled();
    expect(result.current.generalError(["reason"])?.message).toBe("the IPC bridge is gone");
  });

  it("shows Tauri's plain-string refusal, and a failure of `ok` itself, as errors", async () => {
    const { result } = renderHook(() => useCommand());
    // The bindings pass a refusal by Tauri (a denied permission) on as the error, as a string.
    const denied = { status: "error", error: "command staff_add not allowed" } as unknown as CommandResult<null>;
    await act(() => result.current.run(Promise.resolve(denied)));
    await waitFor(() => expect(result.current.error?.message).toBe("command staff_add not allowed"));
    expect(result.current.error?.code).toBe("internal");

    await act(() =>
      result.current.run(Promise.resolve({ status: "ok", data: 1 }), {
        ok: () => Promise.reject(new Error("could not show the result")),
      }),
    );
    await waitFor(() => expect(result.current.error?.message).toBe("could not show the result"));
    expect(result.current.busy).toBe(false);
  });

  it("lets the form set its own error, as its checks before sending do", async () => {
    const { result } = renderHook(() => useCommand());
    await act(() => result.current.setError(refused));
    expect(result.current.fieldError("reason")).toBe("Give a reason.");
    await act(() => result.current.setError(null));
    expect(result.current.error).toBeNull();
  });
});

describe("callCommand", () => {
  it("hands on the data, the command's error, and a rejection as an error", async () => {
    const ok = vi.fn();
    const failed = vi.fn();
    // Returns nothing to await: the answers arrive through `ok` and `failed`.
    callCommand(Promise.resolve({ status: "ok", data: "clerk" }), { ok, failed });
    callCommand(Promise.resolve({ status: "error", error: refused }), { ok, failed });
    callCommand(Promise.reject(new Error("gone")), { ok, failed });
    await waitFor(() => expect(failed).toHaveBeenCalledTimes(2));
    expect(ok).toHaveBeenCalledExactlyOnceWith("clerk");
    expect(failed).toHaveBeenCalledWith(refused);
    expect(failed).toHaveBeenCalledWith({ code: "internal", message: "gone" });
  });
});

describe("useLatestRead", () => {
  it("hands on only the latest call's answer, whatever order the answers come back in", async () => {
    const { result } = renderHook(() => useLatestRead());
    const older = pending<string>();
    const newer = pending<string>();
    const shown = vi.fn();
    const failed = vi.fn();

    result.current(older.promise, { ok: shown, failed });
    result.current(newer.promise, { ok: shown, failed });
    await act(() => newer.answer({ status: "ok", data: "unassigned" }));
    await waitFor(() => expect(shown).toHaveBeenCalledWith("unassigned"));
    await act(() => older.answer({ status: "ok", data: "all states" }));

    expect(shown).toHaveBeenCalledTimes(1);
    expect(failed).not.toHaveBeenCalled();
  });

  it("hands on the latest call's error", async () => {
    const { result } = renderHook(() => useLatestRead());
    const failed = vi.fn();
    result.current(Promise.resolve({ status: "error", error: refused } as CommandResult<number>), { failed });
    await waitFor(() => expect(failed).toHaveBeenCalledWith(refused));
  });
});
