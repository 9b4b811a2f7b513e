import { useEffect, useRef, useState } from "preact/hooks";
import type { AppStatus, StaffSession } from "../bindings";
import { LanguageSelect } from "../components/LanguageSelect";
import { Logo } from "../components/Logo";
import { Notices } from "../components/Notices";
import { logError } from "../errors";
import { useI18n } from "../i18n";
import { screensFor, type ScreenId } from "../nav";
import { Admin } from "./Admin";
import { ConsentStatus } from "./ConsentStatus";
import { Consultations } from "./Consultations";
import { Leads } from "./Leads";
import { Onboard } from "./Onboard";
import { FaxInbox } from "./FaxInbox";
import { PatientCardHost } from "./PatientCard";
import { Placeholder } from "./Placeholder";
import { Queue } from "./Queue";
import { Screening } from "./Screening";

/** The signed-in frame: who is signed in, the screens of their role, and signing out. */
export function Shell(props: {
  status: AppStatus;
  session: StaffSession;
  onSignOut: () => Promise<void>;
}) {
  const { t } = useI18n();
  const { session, status } = props;
  const screens = screensFor(session.role);
  const [current, setCurrent] = useState<ScreenId | null>(screens[0]?.id ?? null);
  const [signingOut, setSigningOut] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const screen = screens.find((s) => s.id === current) ?? null;

  // Moving to another screen moves keyboard focus to its heading, as a page load would.
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    heading.current?.focus();
  }, [current]);

  function signOut() {
    if (signingOut) return;
    setSigningOut(true);
    props
      .onSignOut()
      // The shell is gone once signed out, so there is nowhere left to show this.
      .catch((e: unknown) => logError("signing out failed", e))
      .finally(() => setSigningOut(false));
  }

  return (
    <div class="shell">
      <header class="shell-header">
        <div class="shell-brand">
          <Logo size={28} />
          <span class="shell-product">{t("app.name")}</span>
        </div>
        <div class="shell-user">
          <LanguageSelect id="shell-language" />
          <div class="shell-identity">
            <span class="shell-name" title={t("shell.signedInAs", { name: session.name })}>
              {session.name}
            </span>
            <span class="role-badge">{t(`role.${session.role}`)}</span>
          </div>
          <button
            type="button"
            class="button button-secondary"
            aria-disabled={signingOut}
            onClick={signOut}
          >
            {signingOut ? t("shell.signingOut") : t("shell.signOut")}
          </button>
        </div>
      </header>
      <Notices status={status} compact />
      <div class="shell-body">
        <nav class="shell-nav" aria-label={t("shell.nav")}>
          <ul>
            {screens.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  class="nav-item"
                  aria-current={s.id === current ? "page" : undefined}
                  onClick={() => setCurrent(s.id)}
                >
                  {t(s.title)}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <main class="shell-main">
          <PatientCardHost session={session} screen={current}>
          {screen?.id === "screening" ? (
            <Screening headingRef={heading} />
          ) : screen?.id === "referrals" ? (
            <Queue headingRef={heading} />
          ) : screen?.id === "consultations" ? (
            <Consultations session={session} headingRef={heading} />
          ) : screen?.id === "onboard" ? (
            <Onboard headingRef={heading} />
          ) : screen?.id === "faxInbox" ? (
            <FaxInbox headingRef={heading} />
          ) : screen?.id === "leads" ? (
            <Leads headingRef={heading} />
          ) : screen?.id === "consent" ? (
            <ConsentStatus headingRef={heading} />
          ) : screen?.id === "admin" ? (
            <Admin session={session} headingRef={heading} />
          ) : screen ? (
            <Placeholder title={t(screen.title)} headingRef={heading} />
          ) : (
            <p class="muted">{t("shell.noScreens")}</p>
          )}
          </PatientCardHost>
        </main>
      </div>
    </div>
  );
}
