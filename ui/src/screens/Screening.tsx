import { Fragment, type Ref } from "preact";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  commands,
  type CallOutcome,
  type DoctorOption,
  type ReferralField,
  type ReferralToScreen,
  type ScreeningEntry,
} from "../bindings";
import { DeadlineBadge } from "../components/Badges";
import { BookingDialog, bookedMessage } from "../components/BookingDialog";
import { CallLog } from "../components/CallLog";
import { Dialog } from "../components/Dialog";
import { FieldError } from "../components/FieldError";
import { describeError, type AppError } from "../errors";
import type { MessageKey } from "../i18n";
import { useI18n } from "../i18n";
import { formatDateTime, formatShortDateTime } from "../i18n/format";
import { referralChanges, useQueueChanges } from "../queue/live";
import { callCommand, useCommand, useLatestRead, useListRead } from "../useCommand";
import { PatientContact } from "./PatientCard";
import { ErrorAlert, NotLiveAlert } from "../components/ErrorAlert";
import { FormButtons } from "../components/FormButtons";
import { useGridRows } from "../queue/grid";
import { WorkGrid, WorkRow } from "../components/WorkGrid";

const CALL_OUTCOMES: CallOutcome[] = ["reached", "no_answer", "voicemail", "wrong_number"];

/** The referral fields the panel names in the console's language; any others keep the partner's name. */
const FIELD_LABELS: Record<string, MessageKey> = {
  JournalGuid: "screening.field.JournalGuid",
  MessageTimestamp: "screening.field.MessageTimestamp",
  FormatId: "screening.field.FormatId",
  Firstname: "screening.field.Firstname",
  Lastname: "screening.field.Lastname",
  Email: "screening.field.Email",
  therapist_reference: "screening.field.therapist_reference",
  therapist_name: "screening.field.therapist_name",
  therapist_organization: "screening.field.therapist_organization",
  reason: "screening.field.reason",
};

/**
 * The secretaries' screening list: referrals awaiting a decision, the nearest deadline first, live.
 * A side panel shows one referral, its call log and the call form, and books or declines it.
 */
export function Screening(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t, locale } = useI18n();
  const { rows, error, load } = useListRead(commands.screeningList);
  const [doctors, setDoctors] = useState<DoctorOption[]>([]);
  const [doctorsError, setDoctorsError] = useState<AppError | null>(null);
  const [dialog, setDialog] = useState<"book" | "decline" | null>(null);
  // What the last booking or decline did, as the console was told once it was saved.
  const [done, setDone] = useState<string | null>(null);
  const grid = useRef<HTMLTableElement>(null);

  useLayoutEffect(() => {
    callCommand(commands.doctors(), { ok: setDoctors, failed: setDoctorsError });
  }, []);
  const { live, notLive } = useQueueChanges(load, referralChanges);

  const list = rows ?? [];
  const { selection, open } = useGridRows(list, (r) => r.referral_id);
  const { setOpenId } = selection;


  function patientName(r: ReferralToScreen) {
    return r.patient_name ?? t("queue.unknownPatient", { id: r.patient_person_id });
  }

  /** The referral was booked or declined: say so, close it, and go back to the list. */
  function decided(message: string) {
    setDialog(null);
    setOpenId(null);
    setDone(message);
    load();
    grid.current?.focus();
  }

  return (
    <section class="screen screen-wide" aria-labelledby="screen-title">
      <div class="screen-head">
        <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
          {t("screen.screening")}
        </h1>
        {live && <span class="live-dot">{t("common.live")}</span>}
        {rows && <span class="muted">{t("screening.count", { count: rows.length })}</span>}
      </div>

      {done && (
        <div class="alert alert-success screening-done" role="status">
          <span>{done}</span>
          <button type="button" class="button-link" onClick={() => setDone(null)}>
            {t("common.close")}
          </button>
        </div>
      )}
      <ErrorAlert error={error} />
      <ErrorAlert error={doctorsError} />
      <NotLiveAlert error={notLive} />

      <div class={`queue-layout${open ? " has-panel" : ""}`}>
        <WorkGrid
          name="screening"
          rowName="referral"
          label={t("screening.table")}
          selection={selection}
          gridRef={grid}
          colSpan={6}
          loading={rows === null}
          empty={rows !== null && list.length === 0}
          emptyText={t("screening.empty")}
          head={
            <>
              <th scope="col">{t("queue.colPatient")}</th>
              <th scope="col" class="col-optional">
                {t("queue.colPartner")}
              </th>
              <th scope="col">{t("screening.colReceived")}</th>
              <th scope="col" aria-sort="ascending">
                {t("queue.colDeadline")}
              </th>
              <th scope="col">{t("screening.colCalls")}</th>
              <th scope="col" class="col-optional">
                {t("screening.colSupervisor")}
              </th>
            </>
          }
        >
          {list.map((r) => (
            <WorkRow key={r.referral_id} rowName="referral" id={r.referral_id} selection={selection}>
              <td>{patientName(r)}</td>
              <td class="col-optional">{r.partner_name}</td>
              <td class="nowrap">{formatShortDateTime(r.received_at, locale)}</td>
              <td>
                <span class="deadline-cell">
                  <span class="nowrap">{formatShortDateTime(r.deadline_at, locale)}</span> <DeadlineBadge status={r.deadline_status} />
                </span>
              </td>
              <td>
                {r.call_attempts === 0
                  ? t("screening.noCalls")
                  : t("screening.calls", {
                      count: r.call_attempts,
                      last: r.last_call_outcome ? t(`call.${r.last_call_outcome}`) : "",
                    })}
              </td>
              <td class="col-optional">{r.supervisor_name ?? <span class="muted">{t("common.none")}</span>}</td>
            </WorkRow>
          ))}
        </WorkGrid>

        {open && (
          <ScreeningPanel
            referral={open}
            patient={patientName(open)}
            onClose={() => setOpenId(null)}
            onBook={() => setDialog("book")}
            onDecline={() => setDialog("decline")}
          />
        )}
      </div>

      {open && dialog === "book" && (
        <BookingDialog
          subject={{ kind: "referral", referralId: open.referral_id, patientName: patientName(open) }}
          doctors={doctors}
          onClose={() => setDialog(null)}
          onBooked={(c) => decided(bookedMessage(c, t))}
        />
      )}
      {open && dialog === "decline" && (
        <DeclineDialog
          referral={open}
          patient={patientName(open)}
          onClose={() => setDialog(null)}
          onDone={() => decided(t("screening.declined", { id: open.referral_id, name: patientName(open) }))}
        />
      )}
    </section>
  );
}

function ScreeningPanel(props: {
  referral: ReferralToScreen;
  patient: string;
  onClose: () => void;
  onBook: () => void;
  onDecline: () => void;
}) {
  const { t, locale } = useI18n();
  const r = props.referral;
  const [fields, setFields] = useState<ReferralField[] | null>(null);
  const [fieldsError, setFieldsError] = useState<AppError | null>(null);
  const [history, setHistory] = useState<ScreeningEntry[]>([]);
  const [outcome, setOutcome] = useState<"" | CallOutcome>("");
  const [note, setNote] = useState("");
  const { busy: saving, error, setError, run } = useCommand();
  const [saved, setSaved] = useState(false);

  const readFields = useLatestRead();
  useEffect(() => {
    setFields(null);
    setFieldsError(null);
    readFields(commands.referralFields(r.referral_id), { ok: setFields, failed: setFieldsError });
  }, [readFields, r.referral_id]);

  const readHistory = useLatestRead();
  const loadHistory = useCallback(() => {
    readHistory(commands.referralScreenings(r.referral_id), { ok: setHistory, failed: setError });
  }, [readHistory, r.referral_id, setError]);

  // Another secretary's call shows up too: the list's live change brings a new call count.
  useEffect(() => {
    loadHistory();
  }, [loadHistory, r.call_attempts]);

  useEffect(() => {
    setOutcome("");
    setNote("");
    setError(null);
    setSaved(false);
  }, [r.referral_id, setError]);

  function submit(e: Event) {
    e.preventDefault();
    if (saving) return;
    setSaved(false);
    run(commands.referralScreen(r.referral_id, outcome || null, note.trim() ? note : null), {
      ok: () => {
        setOutcome("");
        setNote("");
        setSaved(true);
        loadHistory();
      },
    });
  }

  const noteError = error && (error.field === "note" || error.field === "outcome") ? error : null;
  const generalError = error && !noteError ? error : null;
  const value = (f: ReferralField) =>
    f.name === "MessageTimestamp" && !Number.isNaN(Date.parse(f.value)) ? formatDateTime(f.value, locale) : f.value;

  return (
    <aside class="card side-panel screening-panel" aria-labelledby="panel-title">
      <div class="panel-head">
        <h2 id="panel-title">{props.patient}</h2>
        <button type="button" class="button button-secondary" onClick={props.onClose}>
          {t("common.close")}
        </button>
      </div>
      <p class="muted">{t("screening.details", { id: r.referral_id })}</p>
      <dl class="facts">
        <dt>{t("queue.colPartner")}</dt>
        <dd>{r.partner_name}</dd>
        <dt>{t("screening.colReceived")}</dt>
        <dd>{formatDateTime(r.received_at, locale)}</dd>
        <dt>{t("queue.deadlineAt")}</dt>
        <dd>
          {formatDateTime(r.deadline_at, locale)} <DeadlineBadge status={r.deadline_status} />
        </dd>
        <dt>{t("screening.colSupervisor")}</dt>
        <dd>{r.supervisor_name ?? t("common.none")}</dd>
      </dl>

      {/* The number to call: read through the patient card, so the read is audited. */}
      <section class="patient-contact" id="screening-patient-contact" aria-labelledby="screening-contact-title">
        <h3 id="screening-contact-title">{t("screening.contact")}</h3>
        <PatientContact personId={r.patient_person_id} idPrefix="screening-contact" />
      </section>

      <div class="button-row">
        <button type="button" class="button button-primary" onClick={props.onBook}>
          {t("screening.book")}
        </button>
        <button type="button" class="button button-danger" onClick={props.onDecline}>
          {t("screening.decline")}
        </button>
      </div>

      <h3>{t("screening.callTitle")}</h3>
      <form class="form" onSubmit={submit} noValidate>
        <div class="field">
          <label for="screen-outcome">{t("queue.callOutcome")}</label>
          <select id="screen-outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value as "" | CallOutcome)}>
            <option value="">{t("queue.noCall")}</option>
            {CALL_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t(`call.${o}`)}
              </option>
            ))}
          </select>
        </div>
        <div class={`field${noteError ? " has-error" : ""}`}>
          <label for="screen-note">{t("queue.note")}</label>
          <textarea
            id="screen-note"
            rows={3}
            value={note}
            aria-invalid={!!noteError}
            aria-describedby={noteError ? "screen-note-error" : undefined}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          <FieldError id="screen-note-error" message={noteError?.message} />
        </div>
        <ErrorAlert error={generalError} />
        {saved && (
          <p class="hint" role="status">
            {t("queue.screeningSaved")}
          </p>
        )}
        <div>
          <button type="submit" class="button button-secondary" aria-disabled={saving}>
            {saving ? t("common.saving") : t("queue.saveScreening")}
          </button>
        </div>
      </form>

      <h3>{t("queue.history")}</h3>
      <CallLog entries={history} id="screening-call-log" />

      <h3>{t("screening.fromPartner")}</h3>
      {fieldsError ? (
        <div class="alert alert-error" role="alert">
          {describeError(fieldsError, t)}
        </div>
      ) : fields === null ? (
        <p class="muted">{t("common.loading")}</p>
      ) : (
        <dl class="facts referral-fields">
          {fields.map((f) => (
            <Fragment key={f.name}>
              <dt>{FIELD_LABELS[f.name] ? t(FIELD_LABELS[f.name]!) : f.name}</dt>
              <dd>{value(f)}</dd>
            </Fragment>
          ))}
        </dl>
      )}
    </aside>
  );
}

function DeclineDialog(props: { referral: ReferralToScreen; patient: string; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const r = props.referral;
  const [reason, setReason] = useState("");
  const { busy, error, setError, run } = useCommand();
  const input = useRef<HTMLTextAreaElement>(null);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!reason.trim()) {
      setError({ code: "invalid_input", field: "reason", message: t("screening.reasonRequired") });
      input.current?.focus();
      return;
    }
    run(commands.referralDecline(r.referral_id, reason), {
      ok: props.onDone,
      failed: (err) => {
        if (err.field === "reason") input.current?.focus();
      },
    });
  }

  const fieldError = error?.field === "reason" ? error : null;
  return (
    <Dialog id="decline" title={t("screening.declineTitle", { name: props.patient })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <p class="hint" id="decline-reason-hint">
          {t("screening.declineHint")}
        </p>
        <div class={`field${fieldError ? " has-error" : ""}`}>
          <label for="decline-reason">{t("queue.reason")}</label>
          <textarea
            id="decline-reason"
            ref={input}
            rows={3}
            required
            value={reason}
            aria-invalid={!!fieldError}
            aria-describedby={fieldError ? "decline-reason-error" : "decline-reason-hint"}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <FieldError id="decline-reason-error" message={fieldError?.message} />
        </div>
        {!fieldError && <ErrorAlert error={error} />}
        <FormButtons busy={busy} label={t("screening.confirmDecline")} busyLabel={t("common.saving")} onCancel={props.onClose} danger />
      </form>
    </Dialog>
  );
}
