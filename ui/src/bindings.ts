// provisional; replaced by the generated file
import { invoke as __TAURI_INVOKE } from "@tauri-apps/api/core";
export const commands = {
  signIn: (server: string, username: string, password: string, remember: boolean) => typedError<StaffSession, Error>(__TAURI_INVOKE("sign_in", { server, username, password, remember })),
  rememberedPassword: (server: string, username: string) => typedError<boolean, Error>(__TAURI_INVOKE("remembered_password", { server, username })),
  signOut: () => __TAURI_INVOKE<null>("sign_out"),
  appStatus: () => __TAURI_INVOKE<AppStatus>("app_status"),
};
export type AppRole = "secretary" | "doctor" | "customer_support" | "admin";
export type AppStatus = { default_server: string | null; demo: boolean; clerk: ClerkMode; version: string };
export type ClerkMode = "configured" | "local_directory";
export type Error = { code: ErrorCode; message: string; field?: string | null; retryable?: boolean };
export type ErrorCode = "unauthorized" | "invalid_input" | "database_unavailable" | "configuration" | "forbidden" | "keys_unavailable" | "internal";
export type StaffSession = { staff_id: number; login: string; name: string; email: string; role: AppRole };
async function typedError<T, E>(result: Promise<T>): Promise<{ status: "ok"; data: T } | { status: "error"; error: E }> {
    try {
        return { status: "ok", data: await result };
    } catch (e) {
        if (e instanceof Error) throw e;
        return { status: "error", error: e as any };
    }
}
