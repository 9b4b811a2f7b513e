import { useEffect, useState } from "preact/hooks";
import { commands, type PatientMessage } from "../bindings";
import type { AppError } from "../errors";
import { useI18n } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { useCommand, useLatestRead } from "../useCommand";
import { ErrorAlert } from "./ErrorAlert";

/**
 * The messages sent (or not) to a patient, or about one consultation, newest first: kind, channel,
 * state, time, and the provider's id or the reason. Never the recipient or the text. When the
 * message service holds messages back (nothing configured), it says so plainly above the list.
 * `onResend` shows the "Resend link" button (a consultation in progress, for its doctor or a
 * secretary).
 */
export function MessageList(props: {
  patientPersonId?: number;
  consultationId?: number;
  canResend?: boolean;
  reload?: number;
}) {
  const { t, locale } = useI18n();
  const [messages, setMessages] = useState<PatientMessage[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [again, setAgain] = useState(0);
  const [resent, setResent] = useState(false);
  const read = useLatestRead();
  const resend = useCommand();

  useEffect(() => {
    read(commands.messagesList(props.patientPersonId ?? null, props.consultationId ?? null), {
      ok: (list) => {
        setError(null);
        setMessages(list);
      },
      failed: setError,
    });
  }, [read, props.patientPersonId, props.consultationId, props.reload, again]);

  const onResend = () => {
    if (resend.busy || props.consultationId === undefined) return;
    resend.run(commands.messageResendJoinLink(props.consultationId), {
      ok: () => {
        setResent(true);
        setAgain((n) => n + 1);
      },
    });
  };

  const titleId = `messages-title-${props.consultationId !== undefined ? `c${props.consultationId}` : `p${props.patientPersonId ?? ""}`}`;
  const held = messages?.find((m) => m.state === "queued" && m.reason?.startsWith("Not sent"));
  return (
    <section class="message-list" aria-labelledby={titleId}>
      <h2 id={titleId}>{t("messages.title")}</h2>
      {props.canResend && props.consultationId !== undefined && (
        <p>
          <button type="button" class="button button-secondary" aria-disabled={resend.busy} onClick={onResend}>
            {t("messages.resend")}
          </button>
          {resent && !resend.error && (
            <span class="muted" role="status">
              {" "}
              {t("messages.resent")}
            </span>
          )}
        </p>
      )}
      <ErrorAlert error={resend.error} />
      {held && (
        <div class="alert alert-warning" role="status">
          {t("messages.notSentNotice", { reason: (held.reason ?? "").replace(/^Not sent:\s*/, "") })}
        </div>
      )}
      <ErrorAlert error={error} />
      {!error && messages === null && <p class="muted">{t("common.loading")}</p>}
      {messages !== null && messages.length === 0 && <p class="muted">{t("messages.none")}</p>}
      {messages !== null && messages.length > 0 && (
        <table class="data-table message-table" aria-labelledby={titleId}>
          <thead>
            <tr>
              <th scope="col">{t("messages.colKind")}</th>
              <th scope="col">{t("messages.colChannel")}</th>
              <th scope="col">{t("messages.colState")}</th>
              <th scope="col">{t("messages.colTime")}</th>
              <th scope="col">{t("messages.colDetail")}</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id} data-message={m.id} data-state={m.state}>
                <td>{t(`messages.kind.${m.kind}`)}</td>
                <td>{m.channel ? t(`messages.channel.${m.channel}`) : t("common.none")}</td>
                <td>
                  <span class={`badge badge-message-${m.state}`}>{t(`messages.state.${m.state}`)}</span>
                </td>
                <td>{formatDateTime(m.sent_at ?? m.updated_at, locale)}</td>
                <td>
                  {m.provider_id ?? m.reason ?? (m.state === "queued" ? t("messages.waiting") : "")}
                  {m.attempts > 1 && <span class="muted"> · {t("messages.attempts", { count: m.attempts })}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
