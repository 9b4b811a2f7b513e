import { useEffect, useState } from "preact/hooks";
import { commands, type ResultInput } from "../bindings";
import type { AppError } from "../errors";
import { useI18n } from "../i18n";
import { callCommand } from "../useCommand";
import { FieldError } from "./FieldError";
import { Icpc2TypeAhead } from "./Icpc2TypeAhead";

/** The standard outcomes, named in the console's languages; admins may add more, shown by their own label. */
export const OUTCOMES = ["referred_gp", "helped", "unable"] as const;
const KNOWN: readonly string[] = OUTCOMES;

/** What the doctor types into a result, as the form keeps it. */
export type ResultValues = {
  icpc2: string;
  outcome: string;
  notes: string;
  policy: string;
  job: string;
  ssn: string;
};

export const EMPTY_RESULT: ResultValues = { icpc2: "", outcome: "", notes: "", policy: "", job: "", ssn: "" };

/** The fields of a result, by the names the core gives them in its errors. */
export type ResultField = "icpc2" | "outcome" | "notes" | "policy_number" | "patient_job_description" | "patient_ssn";
export const RESULT_FIELDS: readonly string[] = [
  "icpc2",
  "outcome",
  "notes",
  "policy_number",
  "patient_job_description",
  "patient_ssn",
];

/** The result as the core takes it: empty optional fields are left out (`null`). */
export function resultInput(v: ResultValues): ResultInput {
  return {
    icpc2: v.icpc2,
    outcome: v.outcome,
    notes: v.notes.trim() || null,
    policy_number: v.policy.trim() || null,
    patient_ssn: v.ssn.trim() || null,
    patient_job_description: v.job.trim() || null,
  };
}

/**
 * The fields of a consultation result: ICPC-2 code, outcome, notes, policy number, the patient's
 * job description and, for a minor who is not the account holder, their own national id. Each
 * field's error sits under it; element ids are `${prefix}-${field}`.
 */
export function ResultFields(props: {
  prefix: string;
  values: ResultValues;
  onChange: (patch: Partial<ResultValues>) => void;
  error: AppError | null;
  setError: (update: (e: AppError | null) => AppError | null) => void;
  onOutcomesFailed: (e: AppError) => void;
  /** The chosen code's "code title", when the form starts with one. */
  icpc2Label?: string;
}) {
  const { t } = useI18n();
  const { prefix, values } = props;
  const [choices, setChoices] = useState<{ code: string; label: string | null }[]>(
    OUTCOMES.map((code) => ({ code, label: null })),
  );
  const onOutcomesFailed = props.onOutcomesFailed;

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
        if (live) onOutcomesFailed(e);
      },
    });
    return () => {
      live = false;
    };
  }, [onOutcomesFailed]);

  const fieldError = (f: ResultField) => (props.error?.field === f ? props.error.message : null);
  const id = (f: ResultField) => `${prefix}-${f}`;
  const describedBy = (f: ResultField, hint?: boolean) =>
    [hint ? `${id(f)}-hint` : null, fieldError(f) ? `${id(f)}-error` : null].filter(Boolean).join(" ") || undefined;
  const cls = (f: ResultField) => `field${fieldError(f) ? " has-error" : ""}`;

  return (
    <>
      <div class={cls("icpc2")}>
        <label for={id("icpc2")}>{t("result.icpc2")}</label>
        <Icpc2TypeAhead
          id={id("icpc2")}
          value={values.icpc2}
          initialLabel={props.icpc2Label}
          onChange={(code) => {
            props.onChange({ icpc2: code });
            if (code) props.setError((e) => (e?.field === "icpc2" ? null : e));
          }}
          invalid={!!fieldError("icpc2")}
          describedBy={describedBy("icpc2", true)}
        />
        <p id={`${id("icpc2")}-hint`} class="hint">
          {t("result.icpc2Hint")}
        </p>
        <FieldError id={`${id("icpc2")}-error`} message={fieldError("icpc2")} />
      </div>
      <div class={cls("outcome")}>
        <label for={id("outcome")}>{t("result.outcome")}</label>
        <select
          id={id("outcome")}
          value={values.outcome}
          aria-invalid={!!fieldError("outcome")}
          aria-describedby={describedBy("outcome")}
          onChange={(e) => props.onChange({ outcome: e.currentTarget.value })}
        >
          <option value="">{t("result.chooseOutcome")}</option>
          {choices.map((o) => (
            <option key={o.code} value={o.code}>
              {o.label ?? t(`outcome.${o.code}` as "outcome.helped")}
            </option>
          ))}
        </select>
        <FieldError id={`${id("outcome")}-error`} message={fieldError("outcome")} />
      </div>
      <div class={cls("notes")}>
        <label for={id("notes")}>{t("result.notes")}</label>
        <textarea
          id={id("notes")}
          rows={4}
          value={values.notes}
          aria-invalid={!!fieldError("notes")}
          aria-describedby={describedBy("notes")}
          onInput={(e) => props.onChange({ notes: e.currentTarget.value })}
        />
        <FieldError id={`${id("notes")}-error`} message={fieldError("notes")} />
      </div>
      <div class={cls("patient_job_description")}>
        <label for={id("patient_job_description")}>{t("result.jobDescription")}</label>
        <input
          id={id("patient_job_description")}
          type="text"
          maxLength={500}
          value={values.job}
          aria-invalid={!!fieldError("patient_job_description")}
          aria-describedby={describedBy("patient_job_description", true)}
          onInput={(e) => props.onChange({ job: e.currentTarget.value })}
        />
        <p id={`${id("patient_job_description")}-hint`} class="hint">
          {t("result.jobDescriptionHint")}
        </p>
        <FieldError id={`${id("patient_job_description")}-error`} message={fieldError("patient_job_description")} />
      </div>
      <div class="field-row">
        <div class={cls("policy_number")}>
          <label for={id("policy_number")}>{t("result.policyNumber")}</label>
          <input
            id={id("policy_number")}
            type="text"
            inputMode="numeric"
            value={values.policy}
            aria-invalid={!!fieldError("policy_number")}
            aria-describedby={describedBy("policy_number")}
            onInput={(e) => props.onChange({ policy: e.currentTarget.value })}
          />
          <FieldError id={`${id("policy_number")}-error`} message={fieldError("policy_number")} />
        </div>
        <div class={cls("patient_ssn")}>
          <label for={id("patient_ssn")}>{t("result.patientSsn")}</label>
          <input
            id={id("patient_ssn")}
            type="text"
            inputMode="numeric"
            autoComplete="off"
            value={values.ssn}
            aria-invalid={!!fieldError("patient_ssn")}
            aria-describedby={describedBy("patient_ssn", true)}
            onInput={(e) => props.onChange({ ssn: e.currentTarget.value })}
          />
          <p id={`${id("patient_ssn")}-hint`} class="hint">
            {t("result.patientSsnHint")}
          </p>
          <FieldError id={`${id("patient_ssn")}-error`} message={fieldError("patient_ssn")} />
        </div>
      </div>
    </>
  );
}
