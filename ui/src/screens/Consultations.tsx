import type { ComponentChildren, Ref } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type Consultation, type MeetingLinks, type QueueFilter, type StaffSession } from "../bindings";
import { DeadlineBadge, StateBadge } from "../components/Badges";
import { ConsultationHistory } from "../components/ConsultationHistory";
import { MessageList } from "../components/MessageList";
import { MeetingRoom } from "../components/MeetingRoom";
import { ResultView } from "../components/ResultView";
import { PatientCardButton } from "../components/PatientCardButton";
import { toAppError, type AppError } from "../errors";
import { useI18n } from "../i18n";
import { useCommand, useLatestRead, type CommandResult } from "../useCommand";
import { formatDateTime, formatDuration } from "../i18n/format";
import { sortByWaiting, useNow, useQueueChanges, waitingSeconds } from "../queue/live";
import { ResultForm } from "./ResultForm";
import { ErrorAlert, NotLiveAlert } from "../components/ErrorAlert";
import { TableNotice } from "../components/TableNotice";

/**
 * The doctor's screen: their open consultations, the ones waiting for a doctor (pick the next or a
 * chosen one), and the workspace of one.
 */
export function Consultations(props: { session: StaffSession; headingRef?: Ref<HTMLHeadingElement> }) {
  const { t } = useI18n();
  const now = useNow();
  const [mine, setMine] = useState<Consultation[] | null>(null);
  const [waiting, setWaiting] = useState<Consultation[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [picking, setPicking] = useState(false);
  const [openId, setOpenId] = useState<number | null>(null);

  // Rejects when the call itself fails; `load` shows that as the screen's error.
  const fetchMine = useCallback(async () => {
    const r = await commands.queueList(doctorList({ assigned_doctor_id: props.session.staff_id }));
    if (r.status === "ok") setMine(r.data);
    else setError(toAppError(r.error));
  }, [props.session.staff_id]);
  const fetchWaiting = useCallback(async () => {
    const r = await commands.queueList(doctorList({ states: ["ready_for_pickup"], unassigned_only: true, sort: "deadline" }));
    if (r.status === "ok") setWaiting(r.data);
    else setError(toAppError(r.error));
  }, []);
  const load = useCallback(() => {
    Promise.all([fetchMine(), fetchWaiting()]).catch((e: unknown) => setError(toAppError(e)));
  }, [fetchMine, fetchWaiting]);

  useEffect(load, [load]);
  const { live, notLive } = useQueueChanges(load);

  // The picked consultation opens once the list holds it; a consultation another doctor took first
  // is refused by the core, and the lists are read again.
  async function pickAndOpen(picked: Promise<CommandResult<Consultation | null>>) {
    const r = await picked;
    if (r.status === "error") {
      setError(toAppError(r.error));
      await fetchWaiting();
    } else if (r.data === null) setNotice(t("doctor.queueEmpty"));
    else {
      setError(null);
      await fetchMine();
      setOpenId(r.data.id);
    }
  }

  function pick(id: number | null) {
    if (picking) return;
    setPicking(true);
    setNotice(null);
    pickAndOpen(id === null ? commands.pickNext() : commands.pick(id))
      .catch((e: unknown) => setError(toAppError(e)))
      .finally(() => setPicking(false));
  }

  if (openId !== null) {
    return (
      <Workspace
        key={openId}
        id={openId}
        staffId={props.session.staff_id}
        headingRef={props.headingRef}
        onBack={() => {
          setOpenId(null);
          load();
        }}
        onOpen={setOpenId}
      />
    );
  }

  const rows = sortByWaiting(mine ?? [], now, "longest");
  return (
    <section class="screen screen-wide" aria-labelledby="screen-title">
      <div class="screen-head">
        <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
          {t("doctor.mine")}
        </h1>
        {live && <span class="live-dot">{t("common.live")}</span>}
        <button
          type="button"
          class="button button-primary push-right"
          aria-disabled={picking}
          onClick={() => pick(null)}
        >
          {picking ? t("doctor.picking") : t("doctor.pickNext")}
        </button>
      </div>
      {notice && (
        <p class="alert alert-info" role="status">
          {notice}
        </p>
      )}
      <ErrorAlert error={error} />
      <NotLiveAlert error={notLive} />
      <div class="card table-card">
        <DoctorTable
          label={{ "aria-label": t("doctor.mine") }}
          rows={mine === null ? null : rows}
          now={now}
          withState
          emptyText={t("doctor.mineEmpty")}
          actionHeading={t("doctor.open")}
          action={(c) => (
            <button type="button" class="button button-secondary" onClick={() => setOpenId(c.id)}>
              {t("doctor.open")}
            </button>
          )}
        />
      </div>
      <div class="card table-card">
        <h2 id="waiting-title" class="table-title">
          {waiting === null ? t("doctor.waitingTitle") : t("doctor.waitingCount", { count: waiting.length })}
        </h2>
        <DoctorTable
          label={{ "aria-labelledby": "waiting-title" }}
          rows={waiting}
          now={now}
          rowId={(c) => `waiting-row-${c.id}`}
          emptyText={t("doctor.waitingEmpty")}
          actionHeading={t("doctor.pick")}
          action={(c, name) => (
            <button
              type="button"
              class="button button-secondary"
              aria-disabled={picking}
              aria-label={t("doctor.pickFor", { name })}
              onClick={() => pick(c.id)}
            >
              {t("doctor.pick")}
            </button>
          )}
        />
      </div>
    </section>
  );
}

/** A doctor's list: up to 200 open consultations, the longest waiting first unless `filter` says otherwise. */
function doctorList(filter: Partial<QueueFilter>): QueueFilter {
  return {
    states: [],
    assigned_doctor_id: null,
    unassigned_only: false,
    partner_id: null,
    sort: "waiting_longest",
    limit: 200,
    offset: null,
    ...filter,
  };
}

/**
 * One of the doctor's lists: patient, partner, (state,) time waited and deadline, and each row's
 * `action`. `rows` is null while the list is read.
 */
function DoctorTable(props: {
  label: { "aria-label": string } | { "aria-labelledby": string };
  rows: Consultation[] | null;
  now: number;
  withState?: boolean;
  rowId?: (c: Consultation) => string;
  emptyText: string;
  actionHeading: string;
  action: (c: Consultation, patientName: string) => ComponentChildren;
}) {
  const { t, locale } = useI18n();
  const rows = props.rows ?? [];
  return (
    <table class="data-table" {...props.label}>
      <thead>
        <tr>
          <th scope="col">{t("queue.colPatient")}</th>
          <th scope="col">{t("queue.colPartner")}</th>
          {props.withState && <th scope="col">{t("queue.colState")}</th>}
          <th scope="col">{t("queue.colWaiting")}</th>
          <th scope="col">{t("queue.colDeadline")}</th>
          <th scope="col">
            <span class="sr-only">{props.actionHeading}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        <TableNotice
          colSpan={props.withState ? 6 : 5}
          loading={props.rows === null}
          empty={props.rows !== null && rows.length === 0}
          emptyText={props.emptyText}
        />
        {rows.map((c) => {
          const name = c.patient_name ?? t("queue.unknownPatient", { id: c.patient_person_id });
          return (
            <tr key={c.id} id={props.rowId?.(c)}>
              <td>{name}</td>
              <td>{c.partner_name ?? t("common.none")}</td>
              {props.withState && (
                <td>
                  <StateBadge state={c.state} />
                </td>
              )}
              <td class="num">{formatDuration(waitingSeconds(c, props.now), locale)}</td>
              <td>
                <DeadlineBadge status={c.deadline_status} />
              </td>
              <td>{props.action(c, name)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A state change answers the row without the display names; keep the ones already shown. */
function withNames(next: Consultation, prev: Consultation | null): Consultation {
  return {
    ...next,
    patient_name: next.patient_name ?? prev?.patient_name ?? null,
    partner_name: next.partner_name ?? prev?.partner_name ?? null,
    doctor_name: next.doctor_name ?? prev?.doctor_name ?? null,
  };
}

/**
 * One consultation: its summary, starting it, filing its result; once completed, its result (read
 * back, amendable by its author) and a follow-up; and the patient's other consultations.
 */
function Workspace(props: {
  id: number;
  staffId: number;
  headingRef?: Ref<HTMLHeadingElement>;
  onBack: () => void;
  onOpen: (id: number) => void;
}) {
  const { t, locale } = useI18n();
  const now = useNow();
  const [c, setC] = useState<Consultation | null>(null);
  const [rooms, setRooms] = useState<MeetingLinks | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [followUp, setFollowUp] = useState<Consultation | null>(null);
  const [historyReads, setHistoryReads] = useState(0);
  const { busy: starting, error, setError, run } = useCommand();
  const booking = useCommand();

  const read = useLatestRead();
  useEffect(() => {
    read(commands.consultationGet(props.id), { ok: setC, failed: setError });
  }, [read, props.id, setError]);

  useEffect(() => {
    document.getElementById("screen-title")?.focus();
  }, []);

  function start() {
    if (starting) return;
    run(commands.start(props.id), {
      ok: (started) => {
        setRooms(started);
        setC((prev) => withNames(started.consultation, prev));
      },
    });
  }

  function bookFollowUp() {
    if (booking.busy) return;
    setNotice(null);
    booking.run(commands.bookFollowUp(props.id), {
      ok: (booked) => {
        setFollowUp(booked);
        setHistoryReads((n) => n + 1);
      },
    });
  }

  const mine = c !== null && c.assigned_doctor_id === props.staffId;

  const name = c ? (c.patient_name ?? t("queue.unknownPatient", { id: c.patient_person_id })) : "";
  return (
    <section class="screen screen-wide" aria-labelledby="screen-title">
      <div class="screen-head">
        <button type="button" class="button button-secondary" onClick={props.onBack}>
          ← {t("doctor.back")}
        </button>
      </div>
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {c ? name : t("queue.details", { id: props.id })}
      </h1>
      {notice && (
        <p class="alert alert-info" role="status">
          {notice}
        </p>
      )}
      <ErrorAlert error={error} />
      {c && (
        <div class="workspace">
          <div class="card">
            <h2>{t("doctor.summary")}</h2>
            <dl class="facts">
              <dt>{t("queue.colPatient")}</dt>
              <dd>{name}</dd>
              <dt>{t("queue.colPartner")}</dt>
              <dd>{c.partner_name ?? t("common.none")}</dd>
              <dt>{t("doctor.category")}</dt>
              <dd>{c.category === "insurance" || c.category === "direct" ? t(`category.${c.category}`) : c.category}</dd>
              <dt>{t("queue.colState")}</dt>
              <dd>
                <StateBadge state={c.state} />
              </dd>
              <dt>{t("queue.created")}</dt>
              <dd>{formatDateTime(c.created_at, locale)}</dd>
              <dt>{t("queue.colWaiting")}</dt>
              <dd>
                {formatDuration(waitingSeconds(c, now), locale)} <DeadlineBadge status={c.deadline_status} />
              </dd>
              <dt>{t("doctor.channels")}</dt>
              <dd>{c.enabled_channels.join(", ") || c.primary_channel}</dd>
            </dl>
            <div>
              <PatientCardButton personId={c.patient_person_id} name={name} id="workspace-patient-card" />
            </div>
            {c.state === "pending_sp" && (
              <button type="button" class="button button-primary" aria-disabled={starting} onClick={start}>
                {starting ? t("doctor.starting") : t("doctor.start")}
              </button>
            )}
            <MeetingRoom consultation={c} mine={mine} started={rooms} />
          </div>
          {c.state === "in_progress" && (
            <div class="card">
              <ResultForm
                consultationId={c.id}
                onCompleted={(done) => {
                  setC((prev) => withNames(done, prev));
                  setNotice(t("doctor.completed"));
                  setHistoryReads((n) => n + 1);
                }}
              />
            </div>
          )}
          {c.state === "completed" && (
            <div class="card">
              <ResultView consultationId={c.id} amendable={mine} />
              {mine && (
                <div class="follow-up">
                  <h3>{t("followUp.title")}</h3>
                  {followUp ? (
                    <div class="alert alert-info" role="status">
                      <p>{t("followUp.booked", { id: followUp.id })}</p>
                      <button type="button" class="button button-secondary" onClick={() => props.onOpen(followUp.id)}>
                        {t("followUp.open")}
                      </button>
                    </div>
                  ) : (
                    <>
                      <p class="hint">{t("followUp.hint")}</p>
                      <button type="button" class="button button-secondary" aria-disabled={booking.busy} onClick={bookFollowUp}>
                        {booking.busy ? t("followUp.booking") : t("followUp.book")}
                      </button>
                    </>
                  )}
                  <ErrorAlert error={booking.error} />
                </div>
              )}
            </div>
          )}
        </div>
      )}
      {c && (
        <div class="card workspace-messages">
          <MessageList
            consultationId={c.id}
            canResend={mine && c.state === "in_progress"}
            reload={historyReads + (rooms ? 1 : 0)}
          />
        </div>
      )}
      {c && (
        <div class="card workspace-history">
          <ConsultationHistory patientPersonId={c.patient_person_id} current={c.id} onOpen={props.onOpen} reload={historyReads} />
        </div>
      )}
    </section>
  );
}
