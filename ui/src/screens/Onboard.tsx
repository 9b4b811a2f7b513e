import type { Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type MatchCandidate, type Onboarded } from "../bindings";
import { BookingDialog, bookedMessage } from "../components/BookingDialog";
import { FieldError } from "../components/FieldError";
import { PatientCardButton } from "../components/PatientCardButton";
import { PatientForms } from "../components/PatientForms";
import { DraftOffer, useDraft } from "../drafts/useDraft";
import { describeError, logError, type AppError } from "../errors";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";

type Field = "name" | "email" | "phone";
const FIELDS: readonly Field[] = ["name", "email", "phone"];

/** What the console checks before sending, with the onboarding contract's error codes (the core checks again). */
export function checkWalkIn(v: Record<Field, string>): AppError | null {
  if (!v.name.trim()) return { code: "name_required", field: "name", message: "" };
  if (!v.email.trim()) return { code: "email_required", field: "email", message: "" };
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email.trim())) return { code: "invalid_email_format", field: "email", message: "" };
  if (!v.phone.trim()) return { code: "phone_required", field: "phone", message: "" };
  return null;
}

/** The support agent onboards a walk-in patient: likely duplicates first, then the required forms. */
export function Onboard(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t } = useI18n();
  const [values, setValues] = useState<Record<Field, string>>({ name: "", email: "", phone: "" });
  const { busy, error, setError, run } = useCommand();
  const [candidates, setCandidates] = useState<MatchCandidate[]>([]);
  const [confirmedNew, setConfirmedNew] = useState(false);
  const [done, setDone] = useState<Onboarded | null>(null);
  const [directory, setDirectory] = useState<string | null>(null);
  const [booking, setBooking] = useState(false);
  const [booked, setBooked] = useState<string | null>(null);
  const lookup = useRef(0);
  // A half-filled form is kept as an encrypted draft until the patient is onboarded.
  const draft = useDraft("onboarding", 0, values, (d) => setValues({ name: d.name ?? "", email: d.email ?? "", phone: d.phone ?? "" }), {
    enabled: !done,
  });

  // Where patient accounts go; the e-mail hint depends on it, and the error says why it is missing.
  useEffect(() => {
    callCommand(commands.accountDirectory(), { ok: setDirectory, failed: setError });
  }, [setError]);

  // Likely duplicates are looked up as the agent types (after a short pause), never on every key.
  const { name, email, phone } = values;
  useEffect(() => {
    const n = ++lookup.current;
    if (!name.trim() && !email.trim() && !phone.trim()) {
      setCandidates([]);
      return;
    }
    const timer = setTimeout(() => {
      const query = {
        name: name.trim() || null,
        email: email.trim() || null,
        phone: phone.trim() || null,
        national_id: null,
        date_of_birth: null,
      };
      callCommand(commands.matchCandidates(query), {
        ok: (found) => {
          if (n === lookup.current) setCandidates(found);
        },
        // The check is a help, not a gate (onboarding itself refuses a patient already here), so a
        // failed lookup must not stop the agent; it is logged.
        failed: (e) => logError("looking up likely duplicates failed", e),
      });
    }, 350);
    return () => clearTimeout(timer);
  }, [name, email, phone]);

  // The onboarding contract's codes are said in the console's language; any other error keeps the core's words.
  const message = (e: AppError) =>
    t(`onboard.error.${e.code}` as "onboard.error.name_required") || (e.message ? describeError(e, t) : e.code);
  const fieldError = (f: Field) => (error?.field === f ? message(error) : null);

  function set(f: Field, v: string) {
    setValues((old) => ({ ...old, [f]: v }));
    setConfirmedNew(false);
    if (error?.field === f) setError(null);
  }

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const local = checkWalkIn(values);
    if (local) {
      setError(local);
      document.getElementById(`onboard-${local.field}`)?.focus();
      return;
    }
    if (candidates.length > 0 && !confirmedNew) {
      setError({ code: "invalid_input", field: "candidates", message: t("onboard.confirmNewRequired") });
      document.getElementById("onboard-confirm-new")?.focus();
      return;
    }
    run(commands.onboardWalkIn({ name: values.name, email: values.email, phone: values.phone }), {
      ok: setDone,
      failed: (e) => {
        if (e.field) document.getElementById(`onboard-${e.field}`)?.focus();
      },
    });
  }

  function again() {
    setDone(null);
    setBooking(false);
    setBooked(null);
    setValues({ name: "", email: "", phone: "" });
    setCandidates([]);
    setConfirmedNew(false);
  }

  const general = error && !(error.field && (FIELDS as readonly string[]).includes(error.field)) && error.field !== "candidates" ? error : null;
  const cls = (f: Field) => `field${fieldError(f) ? " has-error" : ""}`;

  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {t("screen.onboard")}
      </h1>
      {directory === "local" && (
        <p class="notice notice-info" role="note">
          {t("onboard.localDirectory")}
        </p>
      )}
      {done ? (
        <div class="card onboard-result" aria-labelledby="onboard-result-title">
          <h2 id="onboard-result-title">{t("onboard.doneTitle", { name: done.person.name })}</h2>
          <p>
            {t(done.user_created ? "onboard.newAccount" : "onboard.existingAccount")}{" "}
            {t("onboard.patientNumber", { id: done.patient.id })}
          </p>
          <h3>{t("onboard.requiredForms")}</h3>
          {done.required_forms.length === 0 ? (
            <p class="muted">{t("onboard.noForms")}</p>
          ) : (
            <PatientForms patientId={done.patient.id} name={done.person.name} />
          )}
          {booked && (
            <p class="alert alert-success onboard-booked" role="status">
              {booked}
            </p>
          )}
          <div class="button-row">
            <button type="button" class="button button-primary" onClick={() => setBooking(true)}>
              {t("onboard.book")}
            </button>
            <PatientCardButton personId={done.patient_person_id} name={done.person.name} id="onboard-patient-card" />
            <button type="button" class="button button-secondary" onClick={again}>
              {t("onboard.another")}
            </button>
          </div>
          {booking && (
            <BookingDialog
              subject={{ kind: "patient", patientPersonId: done.patient_person_id, patientName: done.person.name }}
              onClose={() => setBooking(false)}
              onBooked={(c) => {
                setBooking(false);
                setBooked(bookedMessage(c, t));
              }}
            />
          )}
        </div>
      ) : (
        <div class="onboard-layout">
          <form class="card form onboard-form" onSubmit={submit} noValidate aria-label={t("screen.onboard")}>
            <DraftOffer offer={draft.offer} problem={draft.problem} onRestore={draft.restore} onDiscard={draft.discard} />
            {FIELDS.map((f) => (
              <div class={cls(f)} key={f}>
                <label for={`onboard-${f}`}>{t(`onboard.${f}` as "onboard.name")}</label>
                <input
                  id={`onboard-${f}`}
                  type={f === "email" ? "email" : f === "phone" ? "tel" : "text"}
                  autoComplete="off"
                  value={values[f]}
                  onInput={(e) => set(f, (e.target as HTMLInputElement).value)}
                  aria-invalid={!!fieldError(f)}
                  aria-describedby={[`onboard-${f}-hint`, fieldError(f) ? `onboard-${f}-error` : ""].filter(Boolean).join(" ")}
                />
                <p id={`onboard-${f}-hint`} class="hint">
                  {t(f === "email" && directory === "local" ? "onboard.emailHintLocal" : (`onboard.${f}Hint` as "onboard.nameHint"))}
                </p>
                <FieldError id={`onboard-${f}-error`} message={fieldError(f) && `${fieldError(f)} (${error?.code})`} />
              </div>
            ))}
            {candidates.length > 0 && (
              <div class={`candidates${error?.field === "candidates" ? " has-error" : ""}`} role="region" aria-labelledby="candidates-title">
                <h2 id="candidates-title">{t("onboard.candidatesTitle")}</h2>
                <p class="hint">{t("onboard.candidatesHint")}</p>
                <ul>
                  {candidates.map((c) => (
                    <li key={c.patient_person_id}>
                      <strong>{c.name}</strong>{" "}
                      <span class="muted">
                        {t("onboard.matchedOn")}: {c.reasons.map((r) => t(`onboard.reason.${r}` as "onboard.reason.email") || r).join(", ")}
                      </span>
                    </li>
                  ))}
                </ul>
                <div class="field-check">
                  <input
                    id="onboard-confirm-new"
                    type="checkbox"
                    checked={confirmedNew}
                    onChange={(e) => setConfirmedNew((e.target as HTMLInputElement).checked)}
                    aria-describedby={error?.field === "candidates" ? "onboard-candidates-error" : undefined}
                  />
                  <label for="onboard-confirm-new">{t("onboard.confirmNew")}</label>
                </div>
                <FieldError id="onboard-candidates-error" message={error?.field === "candidates" ? error.message : null} />
              </div>
            )}
            {general && (
              <div class="alert alert-error" role="alert">
                {describeError(general, t)}
                {general.code === "patient_already_exists" && <p class="hint">{t("onboard.alreadyHint")}</p>}
              </div>
            )}
            <button type="submit" class="button button-primary" aria-disabled={busy}>
              {busy ? t("onboard.submitting") : t("onboard.submit")}
            </button>
          </form>
        </div>
      )}
    </section>
  );
}
