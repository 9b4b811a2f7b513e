import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type AppStatus, type Error as AppError, type StaffSession } from "../bindings";
import { I18nProvider } from "../i18n";
import { SignIn } from "./SignIn";

// The screen talks to the shell only through the generated bindings, so they are the one thing to mock.
vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const status: AppStatus = {
  default_server: "postgres://localhost:5432/digimed",
  demo: true,
  clerk: "local_directory",
  version: "0.1.0",
};

const session: StaffSession = {
  staff_id: 7,
  login: "kari",
  name: "Kari Nordmann",
  email: "kari@example.test",
  role: "secretary",
  organization_id: 1,
};

function renderSignIn(onSignedIn = vi.fn()) {
  render(
    <I18nProvider initial="en">
      <SignIn status={status} onSignedIn={onSignedIn} />
    </I18nProvider>,
  );
  return onSignedIn;
}

function fill(label: string, value: string) {
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

beforeEach(() => {
  mocks.signIn.mockReset();
  mocks.rememberedPassword.mockReset();
  mocks.rememberedPassword.mockResolvedValue({ status: "ok", data: false });
});

describe("SignIn", () => {
  it("pre-fills the server and says plainly that this is demo data without Clerk", () => {
    renderSignIn();
    expect(screen.getByLabelText<HTMLInputElement>("Server").value).toBe(
      "postgres://localhost:5432/digimed",
    );
    expect(screen.getByText("Demo data on a private local database")).toBeTruthy();
    expect(
      screen.getByText(
        "Clerk is not configured: patient accounts are kept in a local account directory",
      ),
    ).toBeTruthy();
  });

  it("shows a field error next to the field it is about", async () => {
    const error: AppError = {
      code: "configuration",
      message: "That database does not exist on the server.",
      field: "server",
    };
    mocks.signIn.mockResolvedValue({ status: "error", error });
    renderSignIn();
    fill("Username", "kari");
    fill("Password", "secret");
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    const message = await screen.findByText("That database does not exist on the server.");
    const server = screen.getByLabelText("Server");
    expect(message.id).toBe("signin-server-error");
    expect(server.getAttribute("aria-invalid")).toBe("true");
    expect(server.getAttribute("aria-describedby")).toContain("signin-server-error");
    expect(server.closest(".field")?.contains(message)).toBe(true);
    expect(document.activeElement).toBe(server);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(mocks.signIn).toHaveBeenCalledWith("postgres://localhost:5432/digimed", "kari", "secret", false);
  });

  it("shows an error about no field as an alert, in the chosen language", async () => {
    mocks.signIn.mockResolvedValue({
      status: "error",
      error: { code: "unauthorized", message: "Wrong username or password." },
    });
    render(
      <I18nProvider initial="nb">
        <SignIn status={status} onSignedIn={vi.fn()} />
      </I18nProvider>,
    );
    fill("Brukernavn", "kari");
    fill("Passord", "wrong");
    fireEvent.click(screen.getByRole("button", { name: "Logg inn" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Feil brukernavn eller passord.");
    expect(screen.getByLabelText<HTMLInputElement>("Passord").value).toBe("");
  });

  it("ticks Remember me when a password is saved and signs in with the empty field", async () => {
    mocks.rememberedPassword.mockResolvedValue({ status: "ok", data: true });
    mocks.signIn.mockResolvedValue({ status: "ok", data: session });
    const onSignedIn = renderSignIn();
    fill("Username", "kari");

    await waitFor(() =>
      expect(screen.getByLabelText<HTMLInputElement>("Remember me on this computer").checked).toBe(true),
    );
    expect(screen.getByLabelText<HTMLInputElement>("Password").placeholder).toBe(
      "Saved password will be used",
    );
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(session));
    expect(mocks.signIn).toHaveBeenCalledWith("postgres://localhost:5432/digimed", "kari", "", true);
    expect(JSON.parse(localStorage.getItem("digimed.lastLogin") ?? "null")).toEqual({
      server: "postgres://localhost:5432/digimed",
      username: "kari",
    });
  });

  it("shows a busy button while signing in and ignores a second press", async () => {
    let finish: (value: Awaited<ReturnType<typeof commands.signIn>>) => void = () => {};
    mocks.signIn.mockReturnValue(new Promise((resolve) => (finish = resolve)));
    renderSignIn();
    fill("Username", "kari");
    fill("Password", "secret");
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    const busy = await screen.findByRole("button", { name: "Signing in…" });
    expect(busy.getAttribute("aria-disabled")).toBe("true");
    fireEvent.click(busy);
    expect(mocks.signIn).toHaveBeenCalledTimes(1);
    finish({ status: "ok", data: session });
  });
});

describe("SignIn without a keyring", () => {
  it("turns Remember me off and says why", async () => {
    mocks.rememberedPassword.mockResolvedValue({
      status: "error",
      error: { code: "keys_unavailable", message: "the OS keyring is not available" },
    });
    renderSignIn();
    fill("Username", "kari");
    const remember = screen.getByLabelText<HTMLInputElement>("Remember me on this computer");
    await waitFor(() => expect(remember.disabled).toBe(true));
    expect(remember.checked).toBe(false);
    expect(
      screen.getByText("No system keyring is available on this computer, so the password cannot be remembered."),
    ).toBeTruthy();
  });
});
