import type { JSX, Ref } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  commands,
  events,
  type AuditEntry,
  type ChainReport,
  type Delivery,
  type Outcome,
  type PartnerOption,
  type ReportFormat,
  type ReportSummary,
  type StaffMember,
  type StaffSession,
} from "../bindings";
import { FieldError } from "../components/FieldError";
import { describeError, toAppError, type AppError, type ErrorCode } from "../errors";
import { formatDate, formatDateTime, formatDuration } from "../i18n/format";
import { useI18n, type MessageKey } from "../i18n";
import { FormTemplates } from "./AdminForms";
import { Partners } from "./AdminPartners";
import { OnboardingRules } from "./AdminRules";

/** The administrator's screen: the insurer report, outcomes, form templates, the forms required at onboarding, partners, the audit log, staff and deliveries. */
export function Admin(props: { session?: StaffSession; headingRef?: Ref<HTMLHeadingElement> }) {
  const { t } = useI18n();
  const [templatesChanged, setTemplatesChanged] = useState(0);
  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {t("screen.admin")}
      </h1>
      <div class="admin-grid">
        <ReportExport />
        <Outcomes />
      </div>
      <FormTemplates onChanged={() => setTemplatesChanged((n) => n + 1)} />
      <OnboardingRules templatesChanged={templatesChanged} />
      <div class="admin-grid">
        <Partners />
      </div>
      <AuditLog />
      <div class="admin-grid">
        <StaffList me={props.session?.staff_id ?? null} />
        <Deliveries />
      </div>
    </section>
  );
}

function isoDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** The insurer report of a partner and period, with a progress bar while it is written. */
export function ReportExport() {
  const { t, locale } = useI18n();
  const today = new Date();
  const monthAgo = new Date(today.getFullYear(), today.getMonth() - 1, today.getDate());
  const [partners, setPartners] = useState<PartnerOption[]>([]);
  const [partner, setPartner] = useState("");
  const [from, setFrom] = useState(isoDate(monthAgo));
  const [to, setTo] = useState(isoDate(today));
  const [format, setFormat] = useState<ReportFormat>("xlsx");
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [summary, setSummary] = useState<ReportSummary | null>(null);

  useEffect(() => {
    commands
      .partners()
      .then((r) => {
        if (r.status === "ok") {
          setPartners(r.data);
          const first = r.data[0];
          if (first) setPartner((p) => p || first.name);
        }
      })
      .catch(() => undefined);
    let stop: (() => void) | undefined;
    let active = true;
    events?.reportProgress
      ?.listen?.((e) => setProgress(e.payload))
      .then(
        (unlisten) => (active ? (stop = unlisten) : unlisten()),
        () => undefined,
      );
    return () => {
      active = false;
      stop?.();
    };
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setSummary(null);
    setError(null);
    setProgress({ done: 0, total: 0 });
    try {
      const r = await commands.reportExport(partner, from, to, format);
      if (r.status === "ok") setSummary(r.data);
      else {
        setError(r.error);
        if (r.error.field) document.getElementById(`report-${r.error.field}`)?.focus();
      }
    } catch (err) {
      setError(toAppError(err));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (f: string) => (error?.field === f ? error.message : null);
  const general = error && !["partner", "from", "to", "out"].includes(error.field ?? "") ? error : null;
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  const dur = (s: number | null) => (s === null ? "—" : formatDuration(s, locale));

  return (
    <form class="card form" onSubmit={submit} noValidate aria-labelledby="report-title">
      <h2 id="report-title">{t("report.title")}</h2>
      <p class="hint">{t("report.hint")}</p>
      <div class={`field${fieldError("partner") ? " has-error" : ""}`}>
        <label for="report-partner">{t("report.partner")}</label>
        <select id="report-partner" value={partner} onChange={(e) => setPartner((e.target as HTMLSelectElement).value)}>
          {partners.map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
        <FieldError id="report-partner-error" message={fieldError("partner")} />
      </div>
      <div class="field-row">
        {(["from", "to"] as const).map((f) => (
          <div class={`field${fieldError(f) ? " has-error" : ""}`} key={f}>
            <label for={`report-${f}`}>{t(`report.${f}` as "report.from")}</label>
            <input
              id={`report-${f}`}
              type="date"
              value={f === "from" ? from : to}
              onInput={(e) => (f === "from" ? setFrom : setTo)((e.target as HTMLInputElement).value)}
              aria-invalid={!!fieldError(f)}
              aria-describedby={fieldError(f) ? `report-${f}-error` : undefined}
            />
            <FieldError id={`report-${f}-error`} message={fieldError(f)} />
          </div>
        ))}
      </div>
      {/* The date fields show the system's format; the period is said here in the console's language. */}
      {isCalendarDate(from) && isCalendarDate(to) && (
        <p class="hint" id="report-period" role="status">
          {t("report.period", { from: formatDate(from, locale, "UTC"), to: formatDate(to, locale, "UTC") })}
        </p>
      )}
      <fieldset class="field">
        <legend>{t("report.format")}</legend>
        {(["xlsx", "csv"] as const).map((f) => (
          <label class="radio" key={f}>
            <input type="radio" name="report-format" value={f} checked={format === f} onChange={() => setFormat(f)} />{" "}
            {t(`report.format.${f}` as "report.format.xlsx")}
          </label>
        ))}
      </fieldset>
      {busy && (
        <div class="progress-block">
          <label for="report-progress">{t("report.progress", { done: progress?.done ?? 0, total: progress?.total ?? 0 })}</label>
          <progress id="report-progress" max={100} value={pct} />
        </div>
      )}
      <FieldError id="report-out-error" message={fieldError("out")} />
      {general && (
        <div class="alert alert-error" role="alert">
          {describeError(general, t)}
        </div>
      )}
      {summary && (
        <div class="alert alert-success report-summary" role="status">
          <p>
            <strong>{t("report.saved", { count: summary.consultations })}</strong>
          </p>
          <p class="file-path">{summary.file}</p>
          <dl class="summary-list">
            <dt>{t("report.waitingMedian")}</dt>
            <dd>{dur(summary.waiting_median_seconds)}</dd>
            <dt>{t("report.waitingP90")}</dt>
            <dd>{dur(summary.waiting_p90_seconds)}</dd>
            <dt>{t("report.treatmentMedian")}</dt>
            <dd>{dur(summary.treatment_median_seconds)}</dd>
            <dt>{t("report.breaches")}</dt>
            <dd>{summary.deadline_breaches}</dd>
            {summary.by_outcome.map((o) => [
              <dt key={`dt-${o.key}`}>{t(`outcome.${o.key}` as "outcome.helped") || o.label}</dt>,
              <dd key={`dd-${o.key}`}>{o.count}</dd>,
            ])}
          </dl>
        </div>
      )}
      <button type="submit" class="button button-primary" aria-disabled={busy || !partner}>
        {busy ? t("report.exporting") : t("report.export")}
      </button>
    </form>
  );
}

/** The outcomes doctors choose from; admins add and retire them. */
function Outcomes() {
  const { t } = useI18n();
  const [list, setList] = useState<Outcome[] | null>(null);
  const [label, setLabel] = useState("");
  const [error, setError] = useState<AppError | null>(null);

  async function load() {
    try {
      const r = await commands.outcomesList();
      if (r.status === "ok") setList(r.data);
      else setError(r.error);
    } catch (e) {
      setError(toAppError(e));
    }
  }
  useEffect(() => {
    void load();
  }, []);

  async function add(e: Event) {
    e.preventDefault();
    try {
      const r = await commands.outcomeAdd(label);
      if (r.status === "ok") {
        setLabel("");
        setError(null);
        void load();
      } else setError(r.error);
    } catch (err) {
      setError(toAppError(err));
    }
  }

  async function toggle(o: Outcome) {
    const r = await commands.outcomeSetActive(o.code, !o.active);
    if (r.status === "ok") void load();
    else setError(r.error);
  }

  const fieldMessage = error?.field === "label" ? error.message : null;
  return (
    <div class="card" aria-labelledby="outcomes-title">
      <h2 id="outcomes-title">{t("outcomes.title")}</h2>
      <ul class="outcome-list">
        {list?.map((o) => (
          <li key={o.code} class={o.active ? "" : "retired"}>
            <span>{t(`outcome.${o.code}` as "outcome.helped") || o.label}</span> <code class="muted">{o.code}</code>
            <button type="button" class="button button-link" onClick={() => toggle(o)}>
              {o.active ? t("outcomes.retire") : t("outcomes.restore")}
            </button>
          </li>
        ))}
      </ul>
      <form class="form" onSubmit={add} noValidate>
        <div class={`field${fieldMessage ? " has-error" : ""}`}>
          <label for="outcome-label">{t("outcomes.new")}</label>
          <input
            id="outcome-label"
            value={label}
            onInput={(e) => setLabel((e.target as HTMLInputElement).value)}
            aria-invalid={!!fieldMessage}
            aria-describedby={fieldMessage ? "outcome-label-error" : undefined}
          />
          <FieldError id="outcome-label-error" message={fieldMessage} />
        </div>
        {error && !fieldMessage && (
          <div class="alert alert-error" role="alert">
            {describeError(error, t)}
          </div>
        )}
        <button type="submit" class="button button-secondary">
          {t("outcomes.add")}
        </button>
      </form>
    </div>
  );
}

/** The newest rows of the audit log, and a check of its hash chain. */
function AuditLog() {
  const { t, locale } = useI18n();
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  const [report, setReport] = useState<ChainReport | null>(null);
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  async function load(before: number | null) {
    try {
      const r = await commands.auditRecent(before);
      if (r.status === "ok") setRows((old) => (before === null ? r.data : [...(old ?? []), ...r.data]));
      else setError(r.error);
    } catch (e) {
      setError(toAppError(e));
    }
  }
  useEffect(() => {
    void load(null);
  }, []);

  async function verify() {
    setChecking(true);
    try {
      const r = await commands.auditVerify();
      if (r.status === "ok") setReport(r.data);
      else setError(r.error);
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setChecking(false);
    }
  }

  const last = rows && rows.length > 0 ? rows[rows.length - 1] : undefined;
  return (
    <div class="card admin-wide" aria-labelledby="audit-title">
      <div class="side-panel-head">
        <h2 id="audit-title">{t("audit.title")}</h2>
        <button type="button" class="button button-secondary" aria-disabled={checking} onClick={verify}>
          {checking ? t("audit.verifying") : t("audit.verify")}
        </button>
      </div>
      {report && (
        <p class={`alert ${report.first_broken_id ? "alert-error" : "alert-success"}`} role="status">
          {report.first_broken_id
            ? t("audit.broken", { id: report.first_broken_id, problem: report.problem ?? "" })
            : t("audit.intact", { rows: report.rows })}
        </p>
      )}
      {error && (
        <div class="alert alert-error" role="alert">
          {describeError(error, t)}
        </div>
      )}
      <table class="data-table audit-table" aria-labelledby="audit-title">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t("audit.when")}</th>
            <th scope="col">{t("audit.who")}</th>
            <th scope="col">{t("audit.action")}</th>
            <th scope="col">{t("audit.what")}</th>
          </tr>
        </thead>
        <tbody>
          {rows?.map((r) => (
            <tr key={r.id}>
              <td class="num">{r.id}</td>
              <td>{formatDateTime(r.occurred_at, locale)}</td>
              <td>
                {r.actor}
                {r.acting_for ? <span class="muted"> ({r.acting_for})</span> : null}
              </td>
              <td>{r.action}</td>
              <td>
                {r.entity_type} {r.entity_id}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {last && rows && rows.length % 50 === 0 && (
        <button type="button" class="button button-secondary" onClick={() => load(last.id)}>
          {t("audit.more")}
        </button>
      )}
    </div>
  );
}

/** The clinic's staff and their roles; admins deactivate and reactivate them (never themselves). */
export function StaffList(props: { me: number | null }) {
  const { t } = useI18n();
  const [staff, setStaff] = useState<StaffMember[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState("");
  useEffect(() => {
    commands
      .staffList()
      .then((r) => r.status === "ok" && setStaff(r.data))
      .catch(() => undefined);
  }, []);

  async function toggle(s: StaffMember) {
    try {
      const r = await commands.staffSetActive(s.id, !s.active);
      if (r.status === "ok") {
        setError(null);
        setStaff((old) => (old ?? []).map((x) => (x.id === r.data.id ? r.data : x)));
        setNotice(t(r.data.active ? "staff.reactivated" : "staff.deactivated", { name: r.data.name }));
      } else setError(r.error);
    } catch (e) {
      setError(toAppError(e));
    }
  }

  return (
    <div class="card" aria-labelledby="staff-title">
      <h2 id="staff-title">{t("staff.title")}</h2>
      {error && (
        <div class="alert alert-error" role="alert">
          {describeError(error, t)}
        </div>
      )}
      <p class="sr-only" role="status">
        {notice}
      </p>
      <table class="data-table staff-table" aria-labelledby="staff-title">
        <thead>
          <tr>
            <th scope="col">{t("staff.name")}</th>
            <th scope="col">{t("staff.role")}</th>
            <th scope="col">{t("staff.status")}</th>
          </tr>
        </thead>
        <tbody>
          {staff?.map((s) => (
            <tr key={s.id} class={s.active ? "" : "retired"}>
              <td>
                {s.name}
                <br />
                <span class="muted">{s.login}</span>
              </td>
              <td>{t(`role.${s.role}`)}</td>
              <td>
                <span class="staff-status">{s.active ? t("staff.active") : t("staff.inactive")}</span>
                {s.id !== props.me && (
                  <>
                    <br />
                    <button
                      type="button"
                      class="button button-link"
                      aria-label={t(s.active ? "staff.deactivateWho" : "staff.reactivateWho", { name: s.name })}
                      onClick={() => toggle(s)}
                    >
                      {s.active ? t("staff.deactivate") : t("staff.reactivate")}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">{t("staff.hint")}</p>
      <AddStaff onAdded={(m) => setStaff((old) => [...(old ?? []), m])} />
    </div>
  );
}

const STAFF_FIELDS = ["email", "name", "role", "password"] as const;
type StaffField = (typeof STAFF_FIELDS)[number];

/** Adds a staff member, with their own login, to the administrator's clinic. */
function AddStaff(props: { onAdded: (m: StaffMember) => void }) {
  const { t } = useI18n();
  const empty: Record<StaffField, string> = { email: "", name: "", role: "doctor", password: "" };
  const [values, setValues] = useState(empty);
  const [error, setError] = useState<AppError | null>(null);
  const [added, setAdded] = useState<StaffMember | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setAdded(null);
    try {
      const r = await commands.staffAdd(values);
      if (r.status === "ok") {
        setError(null);
        setValues(empty);
        setAdded(r.data);
        props.onAdded(r.data);
      } else {
        setError(r.error);
        if (r.error.field) document.getElementById(`staff-new-${r.error.field}`)?.focus();
      }
    } catch (err) {
      setError(toAppError(err));
    } finally {
      setBusy(false);
    }
  }

  // The name and address errors are those of the onboarding form, said in the chosen language.
  const SAID: Partial<Record<ErrorCode, MessageKey>> = {
    name_required: "onboard.error.name_required",
    invalid_name: "onboard.error.invalid_name",
    name_too_long: "onboard.error.name_too_long",
    email_required: "onboard.error.email_required",
    invalid_email_format: "onboard.error.invalid_email_format",
  };
  const fieldError = (f: StaffField) => {
    if (error?.field !== f) return null;
    const key = SAID[error.code];
    return key ? t(key) : error.message;
  };
  const general = error && !STAFF_FIELDS.includes(error.field as StaffField) ? error : null;
  const field = (f: StaffField, input: JSX.Element, hint?: string) => (
    <div class={`field${fieldError(f) ? " has-error" : ""}`} key={f}>
      <label for={`staff-new-${f}`}>{t(`staff.new.${f}` as "staff.new.email")}</label>
      {input}
      {hint && (
        <p class="hint" id={`staff-new-${f}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={`staff-new-${f}-error`} message={fieldError(f)} />
    </div>
  );
  const described = (f: StaffField, hint?: boolean) =>
    [fieldError(f) ? `staff-new-${f}-error` : "", hint ? `staff-new-${f}-hint` : ""].filter(Boolean).join(" ") || undefined;
  const set = (f: StaffField) => (e: Event) => setValues((v) => ({ ...v, [f]: (e.target as HTMLInputElement).value }));

  return (
    <form class="form staff-form" onSubmit={submit} noValidate aria-labelledby="staff-new-heading">
      <h3 id="staff-new-heading">{t("staff.new.title")}</h3>
      {added && (
        <div class="alert alert-success" role="status">
          {t("staff.new.added", { name: added.name, login: added.login })}
        </div>
      )}
      {field(
        "email",
        <input id="staff-new-email" type="email" autoComplete="off" value={values.email} onInput={set("email")}
          aria-invalid={!!fieldError("email")} aria-describedby={described("email", true)} />,
        t("staff.new.emailHint"),
      )}
      {field(
        "name",
        <input id="staff-new-name" autoComplete="off" value={values.name} onInput={set("name")}
          aria-invalid={!!fieldError("name")} aria-describedby={described("name")} />,
      )}
      {field(
        "role",
        <select id="staff-new-role" value={values.role} onChange={set("role")} aria-invalid={!!fieldError("role")} aria-describedby={described("role")}>
          {(["secretary", "doctor", "customer_support", "admin"] as const).map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>,
      )}
      {field(
        "password",
        <input id="staff-new-password" type="password" autoComplete="new-password" value={values.password} onInput={set("password")}
          aria-invalid={!!fieldError("password")} aria-describedby={described("password", true)} />,
        t("staff.new.passwordHint"),
      )}
      {general && (
        <div class="alert alert-error" role="alert">
          {describeError(general, t)}
        </div>
      )}
      <button type="submit" class="button button-primary" aria-disabled={busy}>
        {busy ? t("common.saving") : t("staff.new.submit")}
      </button>
    </form>
  );
}

/** The newest outgoing webhook deliveries and their state. */
function Deliveries() {
  const { t, locale } = useI18n();
  const [rows, setRows] = useState<Delivery[] | null>(null);
  useEffect(() => {
    commands
      .webhookDeliveries()
      .then((r) => r.status === "ok" && setRows(r.data))
      .catch(() => undefined);
  }, []);
  return (
    <div class="card" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">{t("deliveries.title")}</h2>
      {rows !== null && rows.length === 0 ? (
        <p class="muted">{t("deliveries.none")}</p>
      ) : (
        <table class="data-table" aria-labelledby="deliveries-title">
          <thead>
            <tr>
              <th scope="col">{t("deliveries.event")}</th>
              <th scope="col">{t("deliveries.status")}</th>
              <th scope="col">{t("deliveries.attempts")}</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((d) => (
              <tr key={d.id}>
                <td>{d.event_type}</td>
                <td>
                  {t(`deliveries.status.${d.status}` as "deliveries.status.pending")}
                  <br />
                  <span class="muted">
                    {d.delivered_at
                      ? formatDateTime(d.delivered_at, locale)
                      : d.last_status
                        ? `HTTP ${d.last_status}`
                        : d.last_error ?? ""}
                  </span>
                </td>
                <td class="num">{d.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A `YYYY-MM-DD` value, as a date field gives when it holds a whole date. */
function isCalendarDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}
