import { useEffect, useState } from "preact/hooks";
import { commands, type Consultation, type ResultInput } from "../bindings";
import { FieldError } from "../components/FieldError";
import { Icpc2TypeAhead } from "../components/Icpc2TypeAhead";
import { DraftOffer, useDraft } from "../drafts/useDraft";
import { describeError } from "../errors";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";

/** The standard outcomes, named in the console's languages; admins may add more, shown by their own label. */
export const OUTCOMES = ["referred_gp", "helped", "unable"] as const;
const KNOWN: readonly string[] = OUTCOMES;

type Field = "icpc2" | "outcome" | "notes" | "policy_number" | "patient_ssn";
const FIELDS: readonly string[] = ["icpc2", "outcome", "notes", "policy_number", "patient_ssn"];

/** The result a doctor files when completing a consultation. Errors appear next to their field. */
export function ResultForm(props: { consultationId: number; onCompleted: (c: Consultation) => void }) {
  const { t } = useI18n();
  const [icpc2, setIcpc2] = useState("");
  const [outcome, setOutcome] = useState("");
  const [choices, setChoices] = useState<{ code: string; label: string | null }[]>(
    OUTCOMES.map((code) => ({ code, label: null })),
  );
  const [notes, setNotes] = useState("");
  const [policy, setPolicy] = useState("");
  const [ssn, setSsn] = useState("");
  const { busy, error, setError, run, fieldError, generalError } = useCommand();
  const [filed, setFiled] = useState(false);

  // The active outcomes of the clinic's list (an admin may have added some). Without it the
  // standard outcomes are offered, and the error says why the list may be short.
  useEffect(() => {
    let live = true;
    callCommand(commands.outcomesList(), {
      ok: (list) => {
        if (live && list.length > 0) {
          setChoices(list.filter((o) => o.active).map((o) => ({ code: o.code, label: KNOWN.includes(o.code) ? null : o.label })));
        }
      },
      failed: (e) => {
        if (live) setError(e);
      },
    });
    return () => {
      live = false;
    };
  }, [setError]);

  // The half-written result is kept as an encrypted draft until it is filed.
  const draft = useDraft(
    "consultation_result",
    props.consultationId,
    { icpc2, outcome, notes, policy, ssn },
    (d) => {
      setIcpc2(d.icpc2 ?? "");
      setOutcome(d.outcome ?? "");
      setNotes(d.notes ?? "");
      setPolicy(d.policy ?? "");
      setSsn(d.ssn ?? "");
    },
    { enabled: !filed },
  );

  const describedBy = (f: Field) => (error?.field === f ? `result-${f}-error` : undefined);
  const general = generalError(FIELDS);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!icpc2) {
      setError({ code: "invalid_input", field: "icpc2", message: t("result.required") });
      document.getElementById("result-icpc2")?.focus();
      return;
    }
    if (!outcome) {
      setError({ code: "invalid_input", field: "outcome", message: t("result.required") });
      document.getElementById("result-outcome")?.focus();
      return;
    }
    const input: ResultInput = {
      icpc2,
      outcome,
      notes: notes.trim() || null,
      policy_number: policy.trim() || null,
      patient_ssn: ssn.trim() || null,
      patient_job_description: null,
    };
    run(commands.completeWithResult(props.consultationId, input), {
      ok: (c) => {
        setFiled(true);
        props.onCompleted(c);
      },
      failed: (e) => {
        if (e.field) document.getElementById(`result-${e.field}`)?.focus();
      },
    });
  }

  const cls = (f: Field) => `field${fieldError(f) ? " has-error" : ""}`;
  return (
    <form class="form result-form" onSubmit={submit} noValidate aria-labelledby="result-title">
      <h2 id="result-title">{t("doctor.result")}</h2>
      <DraftOffer offer={draft.offer} problem={draft.problem} onRestore={draft.restore} onDiscard={draft.discard} />
      <div class={cls("icpc2")}>
        <label for="result-icpc2">{t("result.icpc2")}</label>
        <Icpc2TypeAhead
          id="result-icpc2"
          value={icpc2}
          onChange={(code) => {
            setIcpc2(code);
            if (code) setError((e) => (e?.field === "icpc2" ? null : e));
          }}
          invalid={!!fieldError("icpc2")}
          describedBy={["result-icpc2-hint", describedBy("icpc2")].filter(Boolean).join(" ")}
        />
        <p id="result-icpc2-hint" class="hint">
          {t("result.icpc2Hint")}
        </p>
        <FieldError id="result-icpc2-error" message={fieldError("icpc2")} />
      </div>
      <div class={cls("outcome")}>
        <label for="result-outcome">{t("result.outcome")}</label>
        <select
          id="result-outcome"
          value={outcome}
          aria-invalid={!!fieldError("outcome")}
          aria-describedby={describedBy("outcome")}
          onChange={(e) => setOutcome(e.currentTarget.value)}
        >
          <option value="">{t("result.chooseOutcome")}</option>
          {choices.map((o) => (
            <option key={o.code} value={o.code}>
              {o.label ?? t(`outcome.${o.code}` as "outcome.helped")}
            </option>
          ))}
        </select>
        <FieldError id="result-outcome-error" message={fieldError("outcome")} />
      </div>
      <div class={cls("notes")}>
        <label for="result-notes">{t("result.notes")}</label>
        <textarea
          id="result-notes"
          rows={4}
          value={notes}
          aria-invalid={!!fieldError("notes")}
          aria-describedby={describedBy("notes")}
          onInput={(e) => setNotes(e.currentTarget.value)}
        />
        <FieldError id="result-notes-error" message={fieldError("notes")} />
      </div>
      <div class="field-row">
        <div class={cls("policy_number")}>
          <label for="result-policy_number">{t("result.policyNumber")}</label>
          <input
            id="result-policy_number"
            type="text"
            inputMode="numeric"
            value={policy}
            aria-invalid={!!fieldError("policy_number")}
            aria-describedby={describedBy("policy_number")}
            onInput={(e) => setPolicy(e.currentTarget.value)}
          />
          <FieldError id="result-policy_number-error" message={fieldError("policy_number")} />
        </div>
        <div class={cls("patient_ssn")}>
          <label for="result-patient_ssn">{t("result.patientSsn")}</label>
          <input
            id="result-patient_ssn"
            type="text"
            inputMode="numeric"
            autoComplete="off"
            value={ssn}
            aria-invalid={!!fieldError("patient_ssn")}
            aria-describedby={["result-patient_ssn-hint", describedBy("patient_ssn")].filter(Boolean).join(" ")}
            onInput={(e) => setSsn(e.currentTarget.value)}
          />
          <p id="result-patient_ssn-hint" class="hint">
            {t("result.patientSsnHint")}
          </p>
          <FieldError id="result-patient_ssn-error" message={fieldError("patient_ssn")} />
        </div>
      </div>
      {general && (
        <div class="alert alert-error" role="alert">
          {describeError(general, t)}
        </div>
      )}
      <div>
        <button type="submit" class="button button-primary" aria-disabled={busy}>
          {busy ? t("doctor.completing") : t("doctor.complete")}
        </button>
      </div>
    </form>
  );
}
