import type { Ref } from "preact";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  commands,
  type Consultation,
  type ConsultationState,
  type JoinLinkWarning,
  type DoctorOption,
  type QueueFilter,
  type ScreeningEntry,
} from "../bindings";
import { DeadlineBadge, StateBadge } from "../components/Badges";
import { Dialog } from "../components/Dialog";
import { FieldError } from "../components/FieldError";
import { CallLog } from "../components/CallLog";
import { MessageList } from "../components/MessageList";
import { PatientCardButton } from "../components/PatientCardButton";
import type { AppError } from "../errors";
import { useI18n } from "../i18n";
import { formatDateTime, formatDuration } from "../i18n/format";
import { markStart } from "../perf";
import { consultationChanges, sortByWaiting, useNow, useQueueChanges, waitingSeconds, type WaitingOrder } from "../queue/live";
import { callCommand, useCommand, useLatestRead } from "../useCommand";
import { ErrorAlert, NotLiveAlert } from "../components/ErrorAlert";
import { useGridRows } from "../queue/grid";
import { WorkGrid, WorkRow } from "../components/WorkGrid";

const OPEN_STATES: ConsultationState[] = ["ready_for_pickup", "pending_sp", "in_progress"];

type DoctorFilter = "" | "unassigned" | `${number}`;

/** How many open consultations the queue shows at first, and adds at a time. */
export const QUEUE_PAGE = 100;

/** The secretary's queue of booked consultations: open ones, live, longest waiting first. */
export function Queue(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t, locale } = useI18n();
  const now = useNow();
  const [rows, setRows] = useState<Consultation[] | null>(null);
  const [doctors, setDoctors] = useState<DoctorOption[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  // Kept apart from `error`, which each queue read clears: without the doctors the filter and the
  // assign dialog have no one to offer.
  const [doctorsError, setDoctorsError] = useState<AppError | null>(null);
  const [stateFilter, setStateFilter] = useState<"" | ConsultationState>("");
  const [doctorFilter, setDoctorFilter] = useState<DoctorFilter>("");
  const [order, setOrder] = useState<WaitingOrder>("longest");
  const [dialog, setDialog] = useState<"assign" | "cancel" | null>(null);
  // The longest waiting first, a page at a time: enough to work from, light to draw.
  const [limit, setLimit] = useState(QUEUE_PAGE);
  // Consultations in progress whose join link did not reach the patient.
  const [warnings, setWarnings] = useState<Map<number, JoinLinkWarning>>(new Map());

  const read = useLatestRead();

  const load = useCallback(() => {
    const filter: QueueFilter = {
      states: stateFilter ? [stateFilter] : [],
      assigned_doctor_id: doctorFilter && doctorFilter !== "unassigned" ? Number(doctorFilter) : null,
      unassigned_only: doctorFilter === "unassigned",
      partner_id: null,
      // The database orders the whole queue, so a page holds the longest (or shortest) waiting.
      sort: order === "shortest" ? "waiting_shortest" : "waiting_longest",
      limit,
      offset: null,
    };
    read(commands.queueList(filter), {
      ok: (data) => {
        markStart("queue-data");
        setRows(data);
        setError(null);
        const started = data.filter((c) => c.state === "in_progress").map((c) => c.id);
        if (started.length === 0) {
          setWarnings(new Map());
          return;
        }
        callCommand(commands.joinLinkWarnings(started), {
          ok: (list) => setWarnings(new Map(list.map((w) => [w.consultation_id, w]))),
          failed: () => setWarnings(new Map()),
        });
      },
      failed: setError,
    });
  }, [read, stateFilter, doctorFilter, order, limit]);

  // Layout effects: the requests leave before the screen is first painted, so the database works
  // while the webview paints instead of after it.
  useLayoutEffect(load, [load]);

  useLayoutEffect(() => {
    callCommand(commands.doctors(), { ok: setDoctors, failed: setDoctorsError });
  }, []);

  const { live, notLive } = useQueueChanges(load, consultationChanges);

  useEffect(() => {
    if (rows && rows.length > 0) markStart("queue-rows");
  }, [rows]);

  const sorted = useMemo(() => sortByWaiting(rows ?? [], now, order), [rows, now, order]);
  const { selection, open } = useGridRows(sorted, (c) => c.id);
  const { setOpenId } = selection;


  function patientName(c: Consultation) {
    return c.patient_name ?? t("queue.unknownPatient", { id: c.patient_person_id });
  }

  return (
    <section class="screen screen-wide" aria-labelledby="screen-title">
      <div class="screen-head">
        <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
          {t("screen.referrals")}
        </h1>
        {live && <span class="live-dot">{t("common.live")}</span>}
        {rows && (
          <span class="muted">
            {rows.length >= limit
              ? t(order === "shortest" ? "queue.countFirstShortest" : "queue.countFirst", { count: rows.length })
              : t("queue.count", { count: rows.length })}
          </span>
        )}
      </div>

      <div class="toolbar" role="group" aria-label={t("queue.filters")}>
        <div class="field field-inline">
          <label for="queue-state">{t("queue.filterState")}</label>
          <select
            id="queue-state"
            value={stateFilter}
            onChange={(e) => setStateFilter(e.currentTarget.value as "" | ConsultationState)}
          >
            <option value="">{t("queue.allStates")}</option>
            {OPEN_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`state.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-inline">
          <label for="queue-doctor">{t("queue.filterDoctor")}</label>
          <select
            id="queue-doctor"
            value={doctorFilter}
            onChange={(e) => setDoctorFilter(e.currentTarget.value as DoctorFilter)}
          >
            <option value="">{t("queue.allDoctors")}</option>
            <option value="unassigned">{t("queue.unassigned")}</option>
            {doctors.map((d) => (
              <option key={d.id} value={String(d.id)}>
                {d.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-inline">
          <label for="queue-sort">{t("queue.sort")}</label>
          <select
            id="queue-sort"
            value={order}
            onChange={(e) => setOrder(e.currentTarget.value as WaitingOrder)}
          >
            <option value="longest">{t("queue.sortLongest")}</option>
            <option value="shortest">{t("queue.sortShortest")}</option>
          </select>
        </div>
      </div>

      <ErrorAlert error={error} />
      <ErrorAlert error={doctorsError} />
      <NotLiveAlert error={notLive} />

      <div class="queue-layout">
        <WorkGrid
          name="queue"
          rowName="queue"
          label={t("queue.table")}
          selection={selection}
          colSpan={6}
          loading={rows === null}
          empty={rows !== null && sorted.length === 0}
          emptyText={t("queue.empty")}
          head={
            <>
              <th scope="col">{t("queue.colPatient")}</th>
              <th scope="col">{t("queue.colPartner")}</th>
              <th scope="col">{t("queue.colState")}</th>
              <th scope="col">{t("queue.colDoctor")}</th>
              <th scope="col" aria-sort={order === "longest" ? "descending" : "ascending"}>
                {t("queue.colWaiting")}
              </th>
              <th scope="col">{t("queue.colDeadline")}</th>
            </>
          }
          footer={
            rows && rows.length >= limit && (
              <div class="table-more">
                <button type="button" class="button button-secondary" onClick={() => setLimit((l) => l + QUEUE_PAGE)}>
                  {t("queue.more", { count: QUEUE_PAGE })}
                </button>
              </div>
            )
          }
        >
          {sorted.map((c) => (
            <WorkRow key={c.id} rowName="queue" id={c.id} selection={selection}>
              <td>{patientName(c)}</td>
              <td>{c.partner_name ?? t("common.none")}</td>
              <td>
                <StateBadge state={c.state} />
                {warnings.has(c.id) && (
                  <>
                    {" "}
                    <span class="badge badge-warning link-warning" title={warnings.get(c.id)?.reason ?? undefined}>
                      {t("queue.linkFailed")}
                    </span>
                  </>
                )}
              </td>
              <td>{c.doctor_name ?? <span class="muted">{t("queue.unassigned")}</span>}</td>
              <td class="num" data-testid="waiting">
                {formatDuration(waitingSeconds(c, now), locale)}
              </td>
              <td>
                <DeadlineBadge status={c.deadline_status} />
              </td>
            </WorkRow>
          ))}
        </WorkGrid>

        {open && (
          <QueuePanel
            consultation={open}
            patient={patientName(open)}
            onClose={() => setOpenId(null)}
            onAssign={() => setDialog("assign")}
            onCancel={() => setDialog("cancel")}
          />
        )}
      </div>

      {open && dialog === "assign" && (
        <AssignDialog
          consultation={open}
          doctors={doctors}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            load();
          }}
        />
      )}
      {open && dialog === "cancel" && (
        <CancelDialog
          consultation={open}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            setOpenId(null);
            load();
          }}
        />
      )}
    </section>
  );
}

function QueuePanel(props: {
  consultation: Consultation;
  patient: string;
  onClose: () => void;
  onAssign: () => void;
  onCancel: () => void;
}) {
  const { t, locale } = useI18n();
  const c = props.consultation;
  const [history, setHistory] = useState<ScreeningEntry[]>([]);
  const [error, setError] = useState<AppError | null>(null);

  // The call log of the referral it was booked from (screening happens before booking).
  const readHistory = useLatestRead();
  useEffect(() => {
    setError(null);
    readHistory(commands.screenings(c.id), { ok: setHistory, failed: setError });
  }, [readHistory, c.id]);

  return (
    <aside class="card side-panel" aria-labelledby="panel-title">
      <div class="panel-head">
        <h2 id="panel-title">{props.patient}</h2>
        <button type="button" class="button button-secondary" onClick={props.onClose}>
          {t("common.close")}
        </button>
      </div>
      <p class="muted">{t("queue.details", { id: c.id })}</p>
      <dl class="facts">
        <dt>{t("queue.colPartner")}</dt>
        <dd>{c.partner_name ?? t("common.none")}</dd>
        <dt>{t("card.entryPoint")}</dt>
        <dd id="queue-entry-point">{c.entry_point ? t(`entryPoint.${c.entry_point}`) : t("common.none")}</dd>
        <dt>{t("queue.colState")}</dt>
        <dd>
          <StateBadge state={c.state} />
        </dd>
        <dt>{t("queue.colDoctor")}</dt>
        <dd>{c.doctor_name ?? t("queue.unassigned")}</dd>
        <dt>{t("queue.created")}</dt>
        <dd>{formatDateTime(c.created_at, locale)}</dd>
        <dt>{t("queue.deadlineAt")}</dt>
        <dd>
          {c.deadline_at ? formatDateTime(c.deadline_at, locale) : t("deadline.none")}{" "}
          <DeadlineBadge status={c.deadline_status} />
        </dd>
      </dl>
      <div class="button-row">
        <PatientCardButton personId={c.patient_person_id} name={props.patient} id="queue-patient-card" />
        <button type="button" class="button button-primary" onClick={props.onAssign}>
          {c.assigned_doctor_id ? t("queue.reassign") : t("queue.assign")}
        </button>
        <button type="button" class="button button-danger" onClick={props.onCancel}>
          {t("queue.cancelConsultation")}
        </button>
      </div>

      <MessageList consultationId={c.id} canResend={c.state === "in_progress"} />

      <h3>{t("queue.history")}</h3>
      <ErrorAlert error={error} />
      <CallLog entries={history} />
    </aside>
  );
}

function AssignDialog(props: {
  consultation: Consultation;
  doctors: DoctorOption[];
  onClose: () => void;
  onDone: () => void;
}) {
  const { t } = useI18n();
  const c = props.consultation;
  const [doctor, setDoctor] = useState(c.assigned_doctor_id ? String(c.assigned_doctor_id) : "");
  const { busy, error, setError, run } = useCommand();

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!doctor) {
      setError({ code: "invalid_input", field: "doctor_id", message: t("queue.chooseDoctorError") });
      return;
    }
    run(commands.assign(c.id, Number(doctor)), { ok: props.onDone });
  }

  const fieldError = error?.field === "doctor_id" ? error : null;
  return (
    <Dialog id="assign" title={t("queue.assignTitle", { id: c.id })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <div class={`field${fieldError ? " has-error" : ""}`}>
          <label for="assign-doctor">{t("queue.doctor")}</label>
          <select
            id="assign-doctor"
            value={doctor}
            aria-invalid={!!fieldError}
            aria-describedby={fieldError ? "assign-doctor-error" : undefined}
            onChange={(e) => setDoctor(e.currentTarget.value)}
          >
            <option value="">{t("queue.chooseDoctor")}</option>
            {props.doctors.map((d) => (
              <option key={d.id} value={String(d.id)}>
                {d.name}
              </option>
            ))}
          </select>
          <FieldError id="assign-doctor-error" message={fieldError?.message} />
        </div>
        {!fieldError && <ErrorAlert error={error} />}
        <div class="button-row">
          <button type="submit" class="button button-primary" aria-disabled={busy}>
            {busy ? t("common.saving") : c.assigned_doctor_id ? t("queue.reassign") : t("queue.assign")}
          </button>
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function CancelDialog(props: { consultation: Consultation; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const c = props.consultation;
  const [reason, setReason] = useState("");
  const { busy, error, setError, run } = useCommand();
  const input = useRef<HTMLTextAreaElement>(null);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!reason.trim()) {
      setError({ code: "invalid_input", field: "reason", message: t("queue.reasonRequired") });
      input.current?.focus();
      return;
    }
    run(commands.cancel(c.id, reason), { ok: props.onDone });
  }

  const fieldError = error?.field === "reason" ? error : null;
  return (
    <Dialog id="cancel" title={t("queue.cancelTitle", { id: c.id })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <div class={`field${fieldError ? " has-error" : ""}`}>
          <label for="cancel-reason">{t("queue.reason")}</label>
          <textarea
            id="cancel-reason"
            ref={input}
            rows={3}
            required
            value={reason}
            aria-invalid={!!fieldError}
            aria-describedby={fieldError ? "cancel-reason-error" : undefined}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <FieldError id="cancel-reason-error" message={fieldError?.message} />
        </div>
        {!fieldError && <ErrorAlert error={error} />}
        <div class="button-row">
          <button type="submit" class="button button-danger" aria-disabled={busy}>
            {busy ? t("common.saving") : t("queue.confirmCancel")}
          </button>
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            {t("queue.keep")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
