import type { Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { commands, type Converted, type CriterionResult, type Lead, type LeadInput, type Serviceability } from "../bindings";
import { ErrorAlert } from "../components/ErrorAlert";
import { FieldError } from "../components/FieldError";
import { PatientCardButton } from "../components/PatientCardButton";
import { describeError, type AppError } from "../errors";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import { formatDateTime, formatDuration, formatShortDateTime } from "../i18n/format";
import { useGridRows } from "../queue/grid";
import { WorkGrid, WorkRow } from "../components/WorkGrid";
import { useCommand, useListRead } from "../useCommand";

type Field = "name" | "email" | "date_of_birth" | "national_id" | "postcode" | "channel";
const FIELDS: readonly Field[] = ["name", "email", "date_of_birth", "national_id", "postcode", "channel"];
const CHANNELS = ["video", "phone"] as const;

/** Field errors whose code says all, in the console's language. */
const FIELD_MESSAGES: Record<string, MessageKey> = {
  name_required: "leads.error.name_required",
  invalid_name: "onboard.error.invalid_name",
  name_too_long: "onboard.error.name_too_long",
  email_required: "onboard.error.email_required",
  invalid_email_format: "onboard.error.invalid_email_format",
  invalid_national_id: "leads.error.invalid_national_id",
  synthetic_national_id_not_allowed: "leads.error.synthetic_national_id_not_allowed",
  "invalid_input:postcode": "leads.error.postcode",
  "invalid_input:date_of_birth": "leads.error.date_of_birth",
  "invalid_input:channel": "leads.error.channel",
};

/** The lead's name, or "Unknown caller" in the console's language when the call tracking knew none. */
function leadName(l: Lead, t: Translate): string {
  return l.name_known ? l.name : t("leads.unknownCaller");
}

function fieldMessage(e: AppError, t: Translate): string {
  const key = FIELD_MESSAGES[e.code] ?? FIELD_MESSAGES[`${e.code}:${e.field ?? ""}`];
  return key ? t(key) : describeError(e, t);
}

/** The criteria a refused conversion names, when its error carries them. */
function refusedCriteria(e: AppError | null): CriterionResult[] | null {
  const details = (e as { details?: unknown } | null)?.details;
  if (details && typeof details === "object" && "criteria" in details && Array.isArray(details.criteria)) {
    return details.criteria as CriterionResult[];
  }
  return null;
}

/**
 * The support agents' leads: callers the call tracking filed at the clinic who have no account
 * yet. A panel per lead checks whether the clinic can serve them (age, coverage, channel),
 * criterion by criterion, and converts them into a patient.
 */
export function Leads(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t, locale } = useI18n();
  const { rows, error, load } = useListRead(commands.leadsList);
  const [converted, setConverted] = useState<Converted | null>(null);
  const grid = useRef<HTMLTableElement>(null);

  const list = rows ?? [];
  const { selection, open } = useGridRows(list, (l) => l.patient_person_id);
  const { setOpenId } = selection;

  function done(c: Converted) {
    setOpenId(null);
    setConverted(c);
    load();
  }

  return (
    <section class="screen screen-wide" aria-labelledby="screen-title">
      <div class="screen-head">
        <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
          {t("screen.leads")}
        </h1>
        {rows && <span class="muted leads-count">{t("leads.count", { count: rows.length })}</span>}
      </div>
      <p class="muted">{t("leads.intro")}</p>

      {converted && (
        <div class="alert alert-success leads-converted" role="status">
          <span>{t("leads.converted", { name: converted.name, id: converted.patient_id })}</span>
          <span class="button-row">
            <PatientCardButton personId={converted.patient_person_id} name={converted.name} id="leads-patient-card" />
            <button type="button" class="button-link" onClick={() => setConverted(null)}>
              {t("common.close")}
            </button>
          </span>
        </div>
      )}
      <ErrorAlert error={error} />

      <div class={`queue-layout${open ? " has-panel" : ""}`}>
        <WorkGrid
          name="leads"
          rowName="lead"
          label={t("leads.table")}
          selection={selection}
          tableClass="leads-table"
          gridRef={grid}
          colSpan={5}
          loading={rows === null && !error}
          empty={rows !== null && list.length === 0}
          emptyText={t("leads.empty")}
          head={
            <>
              <th scope="col">{t("leads.colName")}</th>
              <th scope="col" class="col-optional">
                {t("leads.colEntry")}
              </th>
              <th scope="col">{t("leads.colCameIn")}</th>
              <th scope="col" aria-sort="descending">
                {t("leads.colLastCall")}
              </th>
              <th scope="col">{t("leads.colPhone")}</th>
            </>
          }
        >
          {list.map((l) => (
            <WorkRow key={l.patient_person_id} rowName="lead" id={l.patient_person_id} selection={selection}>
              <td>{leadName(l, t)}</td>
              <td class="col-optional">{t(`entryPoint.${l.entry_point}`)}</td>
              <td class="nowrap">{formatShortDateTime(l.came_in_at, locale)}</td>
              <td class="nowrap">
                {l.last_call_at ? formatShortDateTime(l.last_call_at, locale) : <span class="muted">{t("leads.noCall")}</span>}
              </td>
              <td class="nowrap">{l.phone_masked ?? <span class="muted">{t("common.none")}</span>}</td>
            </WorkRow>
          ))}
        </WorkGrid>

        {open && (
          <LeadPanel
            key={open.patient_person_id}
            lead={open}
            onClose={() => {
              setOpenId(null);
              grid.current?.focus();
            }}
            onConverted={done}
          />
        )}
      </div>
    </section>
  );
}

function LeadPanel(props: { lead: Lead; onClose: () => void; onConverted: (c: Converted) => void }) {
  const { t, locale } = useI18n();
  const l = props.lead;
  const [values, setValues] = useState<Record<Field, string>>({
    name: l.name_known ? l.name : "",
    email: "",
    date_of_birth: l.date_of_birth ?? "",
    national_id: "",
    postcode: "",
    channel: "",
  });
  const [result, setResult] = useState<Serviceability | null>(null);
  const checking = useCommand();
  const converting = useCommand();
  const busy = checking.busy || converting.busy;
  const error = converting.error ?? checking.error;
  const criteria = refusedCriteria(error);
  const shown = criteria ? { passed: false, criteria } : result;
  const fieldError = error && !criteria && error.field && (FIELDS as readonly string[]).includes(error.field) ? error : null;
  const general = error && !criteria && !fieldError ? error : null;

  useEffect(() => {
    if (fieldError?.field) document.getElementById(`lead-${fieldError.field}`)?.focus();
  }, [fieldError]);

  function input(): LeadInput {
    const v = (f: Field) => values[f].trim() || null;
    return {
      patient_person_id: l.patient_person_id,
      name: v("name"),
      email: v("email"),
      date_of_birth: v("date_of_birth"),
      national_id: v("national_id"),
      postcode: v("postcode"),
      channel: v("channel"),
    };
  }

  function set(f: Field, value: string) {
    setValues((old) => ({ ...old, [f]: value }));
    // What was checked no longer holds once a fact changes.
    setResult(null);
    checking.setError(null);
    converting.setError(null);
  }

  function check() {
    if (busy) return;
    converting.setError(null);
    checking.run(commands.leadCheck(input()), { ok: setResult });
  }

  function convert(e: Event) {
    e.preventDefault();
    if (busy) return;
    checking.setError(null);
    setResult(null);
    converting.run(commands.leadConvert(input()), { ok: props.onConverted });
  }

  const cls = (f: Field) => `field${fieldError?.field === f ? " has-error" : ""}`;
  const describedBy = (f: Field, hint: boolean) =>
    [hint ? `lead-${f}-hint` : "", fieldError?.field === f ? `lead-${f}-error` : ""].filter(Boolean).join(" ") || undefined;
  const text = (f: Field, type: string, hint: MessageKey | null, extra: Record<string, string> = {}) => (
    <div class={cls(f)}>
      <label for={`lead-${f}`}>{t(`leads.field.${f}`)}</label>
      <input
        id={`lead-${f}`}
        type={type}
        autoComplete="off"
        value={values[f]}
        aria-invalid={fieldError?.field === f}
        aria-describedby={describedBy(f, hint !== null)}
        onInput={(e) => set(f, (e.target as HTMLInputElement).value)}
        {...extra}
      />
      {hint && (
        <p id={`lead-${f}-hint`} class="hint">
          {t(hint)}
        </p>
      )}
      <FieldError id={`lead-${f}-error`} message={fieldError?.field === f ? fieldMessage(fieldError, t) : null} />
    </div>
  );

  return (
    <aside class="card side-panel lead-panel" aria-labelledby="lead-panel-title">
      <div class="panel-head">
        <h2 id="lead-panel-title">{leadName(l, t)}</h2>
        <button type="button" class="button button-secondary" onClick={props.onClose}>
          {t("common.close")}
        </button>
      </div>
      <dl class="facts">
        <dt>{t("leads.colEntry")}</dt>
        <dd>{t(`entryPoint.${l.entry_point}`)}</dd>
        <dt>{t("leads.colCameIn")}</dt>
        <dd>{formatDateTime(l.came_in_at, locale)}</dd>
        <dt>{t("leads.colLastCall")}</dt>
        <dd>
          {l.last_call_at
            ? t("leads.lastCall", {
                when: formatDateTime(l.last_call_at, locale),
                duration: formatDuration(l.last_call_seconds ?? 0, locale),
              })
            : t("leads.noCall")}
        </dd>
        <dt>{t("leads.colPhone")}</dt>
        <dd>{l.phone_masked ?? t("common.none")}</dd>
      </dl>

      <h3>{t("leads.formTitle")}</h3>
      <form class="form lead-form" onSubmit={convert} noValidate aria-label={t("leads.formTitle")}>
        {text("name", "text", null)}
        {text("email", "email", "leads.hint.email")}
        <div class="field-pair">
          {text("date_of_birth", "date", null)}
          {text("national_id", "text", null, { inputMode: "numeric" })}
        </div>
        <p class="hint lead-age-hint">{t("leads.hint.age")}</p>
        <div class="field-pair">
          {text("postcode", "text", null, { inputMode: "numeric", maxLength: "4" })}
          <div class={cls("channel")}>
          <label for="lead-channel">{t("leads.field.channel")}</label>
          <select
            id="lead-channel"
            value={values.channel}
            aria-invalid={fieldError?.field === "channel"}
            aria-describedby={describedBy("channel", false)}
            onChange={(e) => set("channel", e.currentTarget.value)}
          >
            <option value="">{t("leads.channel.choose")}</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {t(`leads.channel.${c}`)}
              </option>
            ))}
          </select>
          <FieldError id="lead-channel-error" message={fieldError?.field === "channel" ? fieldMessage(fieldError, t) : null} />
          </div>
        </div>

        {shown && <CheckResult result={shown} from={criteria ? "conversion" : "check"} />}
        <ErrorAlert error={general} />

        <div class="button-row">
          <button type="button" class="button button-secondary" aria-disabled={busy} onClick={check}>
            {checking.busy ? t("leads.checking") : t("leads.check")}
          </button>
          <button type="submit" class="button button-primary" aria-disabled={busy}>
            {converting.busy ? t("leads.converting") : t("leads.convert")}
          </button>
        </div>
      </form>
    </aside>
  );
}

/** The check's answer, criterion by criterion. */
function CheckResult(props: { result: Serviceability; from: "check" | "conversion" }) {
  const { t } = useI18n();
  const r = props.result;
  return (
    <section
      class={`lead-check ${r.passed ? "lead-check-passed" : "lead-check-failed"}`}
      data-from={props.from}
      aria-labelledby="lead-check-title"
      role="status"
    >
      <h4 id="lead-check-title">{t(r.passed ? "leads.passed" : "leads.failed")}</h4>
      <ul>
        {r.criteria.map((c) => (
          <li key={c.criterion} class={c.passed ? "criterion-passed" : "criterion-failed"} data-criterion={c.criterion}>
            <span class="criterion-mark" aria-hidden="true">
              {c.passed ? "✓" : "✗"}
            </span>
            <span>
              <strong>{t(`leads.criterion.${c.criterion}`)}</strong>{" "}
              <span class="sr-only">{t(c.passed ? "leads.criterionPassed" : "leads.criterionFailed")}</span>
              {t(`leads.reason.${c.reason}`)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
