import { useEffect, useState } from "preact/hooks";
import { commands, type Consultation, type MeetingLinks, type MeetingStatus } from "../bindings";
import { useI18n } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "./ErrorAlert";

/**
 * The meeting room of a consultation in the doctor's workspace: a notice when the meeting service
 * is set up wrongly (consultations cannot start), and, once started, "Join" (the doctor's own
 * link, opened in the system browser by the console) and the patient's links to copy, marked as
 * the patient's. Demo links say so. The doctor's link is never shown: it makes its holder the
 * meeting's moderator.
 */
export function MeetingRoom(props: { consultation: Consultation; mine: boolean; started: MeetingLinks | null }) {
  const { t, locale } = useI18n();
  const c = props.consultation;
  const [status, setStatus] = useState<MeetingStatus | null>(null);
  const [reread, setReread] = useState<MeetingLinks | null>(null);
  const linksRead = useCommand();
  const join = useCommand();
  const [joined, setJoined] = useState(false);

  useEffect(() => {
    callCommand(commands.meetingStatus(), { ok: setStatus, failed: () => setStatus(null) });
  }, []);

  // Reopened (another screen, a restart of the console): the links of a consultation in
  // progress are read again.
  const open = c.state === "in_progress" && props.mine;
  const links = props.started ?? reread;
  const readLinks = linksRead.run;
  useEffect(() => {
    if (open && !props.started) readLinks(commands.meetingLinks(c.id), { ok: setReread });
  }, [open, props.started, c.id, readLinks]);

  function joinMeeting() {
    if (join.busy) return;
    setJoined(false);
    join.run(commands.meetingJoin(c.id), { ok: () => setJoined(true) });
  }

  const problem = status?.problem ?? null;
  const showProblem = problem !== null && (c.state === "pending_sp" || open);
  return (
    <>
      {showProblem && (
        <div class="alert alert-error meeting-problem" role="alert">
          {t("meeting.problem", { variable: problem.field ?? "DIGIMED_JITSI_DOMAIN" })}
        </div>
      )}
      {open && links && (
        <div class="rooms" role="region" aria-labelledby="rooms-title">
          <h3 id="rooms-title">{t("doctor.rooms")}</h3>
          {links.demo && <p class="notice notice-demo meeting-demo">{t("meeting.demo")}</p>}
          <div class="rooms-join">
            <button type="button" class="button button-primary" aria-disabled={join.busy} onClick={joinMeeting}>
              {join.busy ? t("meeting.joining") : t("meeting.join")}
            </button>
            {joined && (
              <span class="hint" role="status">
                {t("meeting.opened")}
              </span>
            )}
          </div>
          <ErrorAlert error={join.error} />
          <p class="hint">{t("meeting.chatInRoom")}</p>
          <div class="patient-links">
            <h4>{t("meeting.patientLinks")}</h4>
            <PatientLink label={t("meeting.patientVideo")} url={links.patient_video_url} demo={links.demo} />
            <PatientLink label={t("meeting.patientChat")} url={links.patient_chat_url} demo={links.demo} />
            <p class="hint">
              {t("meeting.patientLinksHint", { until: formatDateTime(links.patient_links_expire_at, locale) })}
            </p>
          </div>
          <p class="hint links-sent">{t("doctor.linksSent")}</p>
        </div>
      )}
      {open && !links && linksRead.error && <ErrorAlert error={linksRead.error} />}
    </>
  );
}

/** One of the patient's links, to copy and hand to the patient. */
function PatientLink(props: { label: string; url: string; demo: boolean }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  const label = props.label;

  function copy() {
    const clipboard = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
    if (!clipboard) return;
    clipboard.writeText(props.url).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  }

  return (
    <div class="patient-link">
      <span class="patient-link-label">
        {label}
        {props.demo && <span class="badge badge-demo">{t("meeting.demoBadge")}</span>}
      </span>
      <code class="patient-link-url" aria-label={label}>
        {props.url}
      </code>
      <button type="button" class="button button-secondary button-small" onClick={copy} aria-label={t("meeting.copyLabel", { link: label })}>
        {copied ? t("meeting.copied") : t("meeting.copy")}
      </button>
    </div>
  );
}
