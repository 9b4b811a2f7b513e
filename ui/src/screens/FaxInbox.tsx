import type { Ref } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { commands, type FaxDocument, type InboxFax } from "../bindings";
import { ErrorAlert } from "../components/ErrorAlert";
import { FieldError } from "../components/FieldError";
import { PdfView } from "../components/PdfView";
import { TableNotice } from "../components/TableNotice";
import { describeError, type AppError } from "../errors";
import { useI18n, type MessageKey } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { callCommand, useCommand, useLatestRead } from "../useCommand";

type Field = "name" | "phone" | "national_id";
const FIELDS: readonly Field[] = ["name", "phone", "national_id"];

const FIELD_LABELS: Record<Field, MessageKey> = { name: "fax.name", phone: "fax.phone", national_id: "fax.nationalId" };

/** Error codes of the completion form that have a sentence in every language. */
const FIELD_CODES = new Set(["name_required", "name_too_long", "invalid_name", "phone_required", "invalid_phone_format", "invalid_national_id"]);

/**
 * The fax inbox: referral faxes waiting, newest first; one fax's PDF (its reading is recorded)
 * beside the form that completes its draft into a patient, and discarding it with a reason.
 */
export function FaxInbox(props: { headingRef?: Ref<HTMLHeadingElement> }) {
  const { t, locale } = useI18n();
  const [faxes, setFaxes] = useState<InboxFax[] | null>(null);
  const [listError, setListError] = useState<AppError | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [doc, setDoc] = useState<FaxDocument | null>(null);
  const [docError, setDocError] = useState<AppError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [values, setValues] = useState<Record<Field, string>>({ name: "", phone: "", national_id: "" });
  const [reason, setReason] = useState("");
  const readDoc = useLatestRead();
  const layout = useRef<HTMLDivElement>(null);
  const completing = useCommand();
  const discarding = useCommand();

  const load = useCallback(() => {
    callCommand(commands.faxInbox(), {
      ok: (list) => {
        setFaxes(list);
        setListError(null);
      },
      failed: setListError,
    });
  }, []);
  useEffect(load, [load]);

  useEffect(() => {
    setDoc(null);
    setDocError(null);
    if (selected === null) return;
    readDoc(commands.faxOpen(selected), { ok: setDoc, failed: setDocError });
    // The fax and its forms come into view below the list.
    layout.current?.scrollIntoView?.({ block: "start" });
  }, [selected, readDoc]);

  function choose(id: number) {
    setDone(null);
    setValues({ name: "", phone: "", national_id: "" });
    setReason("");
    completing.setError(null);
    discarding.setError(null);
    setSelected(id);
  }

  function finished(message: string) {
    setDone(message);
    setSelected(null);
    load();
  }

  function complete(e: Event) {
    e.preventDefault();
    if (completing.busy || selected === null) return;
    const name = values.name.trim();
    completing.run(
      commands.faxComplete(selected, {
        name: values.name,
        phone: values.phone.trim() || null,
        national_id: values.national_id.trim() || null,
      }),
      { ok: () => finished(t("fax.completed", { name })) },
    );
  }

  function discard(e: Event) {
    e.preventDefault();
    if (discarding.busy || selected === null) return;
    discarding.run(commands.faxDiscard(selected, reason), { ok: () => finished(t("fax.discarded")) });
  }

  const fieldMessage = (f: Field): string | null => {
    const err = completing.error;
    if (err?.field !== f) return null;
    return FIELD_CODES.has(err.code) ? t(`fax.error.${err.code}` as "fax.error.phone_required") : describeError(err, t);
  };
  const completeGeneral = completing.error && !FIELDS.includes(completing.error.field as Field) ? completing.error : null;
  const reasonMessage = discarding.error?.field === "reason" ? t("fax.error.reason") : null;
  const discardGeneral = discarding.error && discarding.error.field !== "reason" ? discarding.error : null;

  return (
    <section class="screen fax-screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {t("screen.faxInbox")}
      </h1>
      <ErrorAlert error={listError} />
      {done && (
        <p class="alert alert-success" role="status" id="fax-done">
          {done}
        </p>
      )}
      <div class="card table-card">
        <h2 id="fax-waiting-title">{t("fax.waitingTitle", { count: faxes?.length ?? 0 })}</h2>
        <table class="data-table" id="fax-list" aria-labelledby="fax-waiting-title">
          <thead>
            <tr>
              <th scope="col">{t("fax.colReceived")}</th>
              <th scope="col">{t("fax.colSender")}</th>
              <th scope="col">{t("fax.colPages")}</th>
              <th scope="col">{t("fax.colDraft")}</th>
            </tr>
          </thead>
          <tbody>
            <TableNotice
              colSpan={4}
              loading={faxes === null && !listError}
              empty={faxes !== null && faxes.length === 0}
              emptyText={t("fax.none")}
            />
            {faxes?.map((f) => (
              <tr key={f.id} data-fax={f.id} aria-selected={selected === f.id}>
                <td>
                  <button type="button" class="button-link row-link" onClick={() => choose(f.id)}>
                    {formatDateTime(f.received_at, locale)}
                  </button>
                </td>
                <td class="fax-sender">{f.sender}</td>
                <td>{f.page_count ?? "–"}</td>
                <td>{f.draft_name ?? t("fax.nameNotRead")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {selected === null && faxes !== null && faxes.length > 0 && <p class="muted">{t("fax.select")}</p>}
      {selected !== null && (
        <div class="fax-layout" ref={layout}>
          <div class="card fax-document" aria-labelledby="fax-document-title">
            <h2 id="fax-document-title">{t("fax.documentTitle")}</h2>
            <p class="muted">{t("fax.readNotice")}</p>
            <ErrorAlert error={docError} />
            {doc && (
              <>
                <p class="fax-meta">
                  {t("fax.from", { sender: doc.sender })} · {formatDateTime(doc.received_at, locale)}
                </p>
                <PdfView pdfBase64={doc.pdf_base64} width={560} label={t("fax.documentTitle")} />
              </>
            )}
          </div>
          <div class="fax-actions">
            <form class="card form" id="fax-complete" onSubmit={complete} noValidate aria-labelledby="fax-complete-title">
              <h2 id="fax-complete-title">{t("fax.completeTitle")}</h2>
              <p class="muted">{t("fax.completeHint")}</p>
              {FIELDS.map((f) => (
                <div key={f} class={`field${fieldMessage(f) ? " has-error" : ""}`}>
                  <label for={`fax-${f}`}>{t(FIELD_LABELS[f])}</label>
                  <input
                    id={`fax-${f}`}
                    value={values[f]}
                    autocomplete="off"
                    onInput={(e) => setValues({ ...values, [f]: (e.target as HTMLInputElement).value })}
                    aria-invalid={!!fieldMessage(f)}
                    aria-describedby={fieldMessage(f) ? `fax-${f}-error` : undefined}
                  />
                  <FieldError id={`fax-${f}-error`} message={fieldMessage(f)} />
                </div>
              ))}
              <ErrorAlert error={completeGeneral} />
              <button type="submit" class="button button-primary" aria-disabled={completing.busy}>
                {completing.busy ? t("fax.completing") : t("fax.complete")}
              </button>
            </form>
            <form class="card form" id="fax-discard" onSubmit={discard} noValidate aria-labelledby="fax-discard-title">
              <h2 id="fax-discard-title">{t("fax.discardTitle")}</h2>
              <div class={`field${reasonMessage ? " has-error" : ""}`}>
                <label for="fax-reason">{t("fax.reason")}</label>
                <textarea
                  id="fax-reason"
                  rows={2}
                  value={reason}
                  onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
                  aria-invalid={!!reasonMessage}
                  aria-describedby={["fax-reason-hint", reasonMessage ? "fax-reason-error" : ""].filter(Boolean).join(" ")}
                />
                <p id="fax-reason-hint" class="hint">
                  {t("fax.reasonHint")}
                </p>
                <FieldError id="fax-reason-error" message={reasonMessage} />
              </div>
              <ErrorAlert error={discardGeneral} />
              <button type="submit" class="button button-danger" aria-disabled={discarding.busy}>
                {discarding.busy ? t("fax.discarding") : t("fax.discard")}
              </button>
            </form>
          </div>
        </div>
      )}
    </section>
  );
}
