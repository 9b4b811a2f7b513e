import { useEffect, useState } from "preact/hooks";
import {
  commands,
  type ConsentKind,
  type NewTemplate,
  type Published,
  type Template,
  type TemplateVersion,
} from "../bindings";
import { Dialog } from "../components/Dialog";
import { FieldError } from "../components/FieldError";
import type { AppError } from "../errors";
import type { Translate } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";
import { FormButtons } from "../components/FormButtons";

/** The longest text a version may have (forms::MAX_BODY_CHARS). */
export const MAX_BODY_CHARS = 20_000;

const SLUG = /^[a-z][a-z0-9_]*$/;

/**
 * Checks a new template before it is sent, as the core does: the first problem, with its field.
 * The core checks again (and knows which consent kinds exist).
 */
export function checkNewTemplate(input: NewTemplate, t: Translate): AppError | null {
  const invalid = (field: string, message: string): AppError => ({ code: "invalid_input", message, field });
  // In the order of the fields on the form.
  const title = input.title.trim();
  if (!title) return invalid("title", t("templates.titleRequired"));
  if ([...title].length > 200) return invalid("title", t("templates.titleTooLong"));
  if (!SLUG.test(input.key.trim())) return invalid("key", t("templates.keyInvalid"));
  const type = input.form_type.trim();
  if (type && !SLUG.test(type)) return invalid("form_type", t("templates.typeInvalid"));
  return null;
}

/** Checks the text of a new version before it is sent. */
export function checkVersionBody(body: string, t: Translate): AppError | null {
  if (!body.trim()) return { code: "invalid_input", message: t("templates.bodyRequired"), field: "body" };
  if ([...body].length > MAX_BODY_CHARS) {
    return { code: "invalid_input", message: t("templates.bodyTooLong", { max: MAX_BODY_CHARS }), field: "body" };
  }
  return null;
}

/**
 * Form templates: their versions, a new template, a new draft text, publishing a draft.
 * `onChanged` hears of a new template or a published version (the onboarding rules offer them).
 */
export function FormTemplates(props: { onChanged?: () => void }) {
  const { t } = useI18n();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [kinds, setKinds] = useState<ConsentKind[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const [publishing, setPublishing] = useState<{ template: Template; version: TemplateVersion } | null>(null);
  const [published, setPublished] = useState<{ title: string; result: Published } | null>(null);

  function load() {
    callCommand(commands.formTemplates(), { ok: setTemplates, failed: setError });
  }
  useEffect(() => {
    load();
    callCommand(commands.consentKinds(), { ok: setKinds, failed: setError });
  }, []);

  return (
    <div class="card admin-wide" aria-labelledby="templates-title">
      <h2 id="templates-title">{t("templates.title")}</h2>
      <p class="hint">{t("templates.hint")}</p>
      <ErrorAlert error={error} />
      {published && (
        <p class="alert alert-success" role="status" id="templates-published">
          {t("templates.published", { version: published.result.version.version, title: published.title })}{" "}
          {t("templates.superseded", { count: published.result.superseded })}
        </p>
      )}
      <ul class="template-list">
        {templates?.map((tpl) => (
          <TemplateItem
            key={tpl.id}
            template={tpl}
            kinds={kinds}
            onPublish={(version) => setPublishing({ template: tpl, version })}
            onChanged={load}
          />
        ))}
      </ul>
      <NewTemplateForm
        kinds={kinds}
        onCreated={() => {
          setPublished(null);
          load();
          props.onChanged?.();
        }}
      />
      {publishing && (
        <PublishDialog
          template={publishing.template}
          version={publishing.version}
          onClose={() => setPublishing(null)}
          onDone={(result) => {
            setPublished({ title: publishing.template.title, result });
            setPublishing(null);
            load();
            props.onChanged?.();
          }}
        />
      )}
    </div>
  );
}

function kindLabel(code: string, kinds: ConsentKind[], t: Translate): string {
  const known = t(`consent.${code}` as "consent.analytics");
  return known || (kinds.find((k) => k.code === code)?.label ?? code);
}

function TemplateItem(props: {
  template: Template;
  kinds: ConsentKind[];
  onPublish: (v: TemplateVersion) => void;
  onChanged: () => void;
}) {
  const { t, locale } = useI18n();
  const tpl = props.template;
  const [body, setBody] = useState("");
  const { busy, error, setError, run, fieldError } = useCommand();
  const [added, setAdded] = useState<number | null>(null);
  const newest = tpl.versions.filter((v) => v.published_at).map((v) => v.version);
  const newestPublished = newest.length ? Math.max(...newest) : 0;
  const id = `template-${tpl.id}`;

  function addVersion(e: Event) {
    e.preventDefault();
    if (busy) return;
    const problem = checkVersionBody(body, t);
    setAdded(null);
    if (problem) {
      setError(problem);
      document.getElementById(`${id}-body`)?.focus();
      return;
    }
    run(commands.formTemplateAddVersion(tpl.id, body), {
      ok: (version) => {
        setBody("");
        setAdded(version.version);
        props.onChanged();
      },
      failed: (err) => {
        if (err.field === "body") document.getElementById(`${id}-body`)?.focus();
      },
    });
  }

  const bodyError = fieldError("body");
  return (
    <li class="template-item" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>
        {tpl.title} <code class="muted">{tpl.key}</code>
      </h3>
      <p class="template-facts">
        {tpl.organization_id === null ? t("templates.shared") : t("templates.ownClinic")}
        {" · "}
        {tpl.consent_types.length
          ? t("templates.grants", { kinds: tpl.consent_types.map((c) => kindLabel(c, props.kinds, t)).join(", ") })
          : t("templates.grantsNothing")}
        {tpl.must_sign_before === "first_appointment" ? ` · ${t("templates.beforeFirst")}` : ""}
      </p>
      {tpl.versions.length === 0 ? (
        <p class="muted">{t("templates.noVersions")}</p>
      ) : (
        <table class="data-table version-table" aria-label={t("templates.versionsOf", { title: tpl.title })}>
          <thead>
            <tr>
              <th scope="col">{t("templates.version")}</th>
              <th scope="col">{t("templates.status")}</th>
              <th scope="col">{t("templates.text")}</th>
              <th scope="col">
                <span class="sr-only">{t("templates.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tpl.versions.map((v) => (
              <tr key={v.id}>
                <td class="num">{v.version}</td>
                <td>
                  {v.published_at ? (
                    <>
                      {v.version === newestPublished ? t("templates.current") : t("templates.older")}
                      <br />
                      <span class="muted">{t("templates.publishedAt", { when: formatDateTime(v.published_at, locale) })}</span>
                    </>
                  ) : (
                    <strong>{t("templates.draft")}</strong>
                  )}
                </td>
                <td>
                  <details>
                    <summary>{t("templates.showText")}</summary>
                    <p class="version-body">{v.body}</p>
                    <p class="muted sha">SHA-256 {v.sha256}</p>
                  </details>
                </td>
                <td>
                  {!v.published_at && v.version > newestPublished && (
                    <button type="button" class="button button-secondary" onClick={() => props.onPublish(v)}>
                      {t("templates.publish", { version: v.version })}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details class="new-version">
        <summary>{t("templates.newVersion")}</summary>
        <form class="form" onSubmit={addVersion} noValidate>
          <div class={`field${bodyError ? " has-error" : ""}`}>
            <label for={`${id}-body`}>{t("templates.newVersionText", { title: tpl.title })}</label>
            <textarea
              id={`${id}-body`}
              rows={5}
              value={body}
              onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)}
              aria-invalid={!!bodyError}
              aria-describedby={bodyError ? `${id}-body-error` : `${id}-body-hint`}
            />
            <p class="hint" id={`${id}-body-hint`}>
              {t("templates.draftHint")}
            </p>
            <FieldError id={`${id}-body-error`} message={bodyError} />
          </div>
          {!bodyError && <ErrorAlert error={error} />}
          {added !== null && (
            <p class="alert alert-success" role="status">
              {t("templates.draftAdded", { version: added })}
            </p>
          )}
          <button type="submit" class="button button-secondary" aria-disabled={busy}>
            {busy ? t("common.saving") : t("templates.addVersion")}
          </button>
        </form>
      </details>
    </li>
  );
}

function PublishDialog(props: {
  template: Template;
  version: TemplateVersion;
  onClose: () => void;
  onDone: (p: Published) => void;
}) {
  const { t } = useI18n();
  const { busy, error, run } = useCommand();

  function confirm(e: Event) {
    e.preventDefault();
    if (busy) return;
    run(commands.formTemplatePublish(props.version.id), { ok: props.onDone });
  }

  return (
    <Dialog
      id="publish"
      title={t("templates.publishTitle", { version: props.version.version, title: props.template.title })}
      onClose={props.onClose}
    >
      <form class="form" onSubmit={confirm}>
        <p>{t("templates.publishWarning")}</p>
        <p class="hint">{t("templates.publishFinal")}</p>
        <ErrorAlert error={error} />
        <FormButtons busy={busy} label={t("templates.confirmPublish")} busyLabel={t("templates.publishing")} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}

const EMPTY: NewTemplate = { key: "", title: "", form_type: "disclaimer", consent_types: [], must_sign_before: null };

/** A new template of the clinic; its text comes as a first draft version afterwards. */
export function NewTemplateForm(props: { kinds: ConsentKind[]; onCreated: (t: Template) => void }) {
  const { t } = useI18n();
  const [input, setInput] = useState<NewTemplate>(EMPTY);
  const { busy, setError, run, fieldError, generalError } = useCommand();
  const [created, setCreated] = useState<Template | null>(null);

  const set = (patch: Partial<NewTemplate>) => setInput((old) => ({ ...old, ...patch }));

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setCreated(null);
    const problem = checkNewTemplate(input, t);
    if (problem) {
      setError(problem);
      document.getElementById(`new-template-${problem.field}`)?.focus();
      return;
    }
    run(commands.formTemplateCreate(input), {
      ok: (template) => {
        setInput(EMPTY);
        setCreated(template);
        props.onCreated(template);
      },
      failed: (err) => {
        if (err.field) document.getElementById(`new-template-${err.field}`)?.focus();
      },
    });
  }

  const general = generalError(["key", "title", "form_type", "consent_types", "must_sign_before"]);
  const text = (f: "key" | "title" | "form_type", hint?: string) => (
    <div class={`field${fieldError(f) ? " has-error" : ""}`}>
      <label for={`new-template-${f}`}>{t(`templates.field.${f}` as "templates.field.key")}</label>
      <input
        id={`new-template-${f}`}
        value={input[f]}
        onInput={(e) => set({ [f]: (e.target as HTMLInputElement).value })}
        aria-invalid={!!fieldError(f)}
        aria-describedby={fieldError(f) ? `new-template-${f}-error` : hint ? `new-template-${f}-hint` : undefined}
      />
      {hint && (
        <p class="hint" id={`new-template-${f}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={`new-template-${f}-error`} message={fieldError(f)} />
    </div>
  );

  return (
    <form class="form new-template" onSubmit={submit} noValidate aria-labelledby="new-template-heading">
      <h3 id="new-template-heading">{t("templates.new")}</h3>
      <div class="field-row">
        {text("title")}
        {text("key", t("templates.keyHint"))}
      </div>
      {text("form_type", t("templates.typeHint"))}
      <fieldset class={`field${fieldError("consent_types") ? " has-error" : ""}`} id="new-template-consent_types" tabIndex={-1}>
        <legend>{t("templates.field.consent_types")}</legend>
        {props.kinds.map((k) => (
          <label class="radio" key={k.code}>
            <input
              type="checkbox"
              name="new-template-consent"
              value={k.code}
              checked={input.consent_types.includes(k.code)}
              onChange={(e) =>
                set({
                  consent_types: (e.target as HTMLInputElement).checked
                    ? [...input.consent_types, k.code]
                    : input.consent_types.filter((c) => c !== k.code),
                })
              }
            />{" "}
            {kindLabel(k.code, props.kinds, t)}
          </label>
        ))}
        <FieldError id="new-template-consent_types-error" message={fieldError("consent_types")} />
      </fieldset>
      <div class="field field-check">
        <input
          id="new-template-must_sign_before"
          type="checkbox"
          checked={input.must_sign_before === "first_appointment"}
          onChange={(e) => set({ must_sign_before: (e.target as HTMLInputElement).checked ? "first_appointment" : null })}
        />
        <div>
          <label for="new-template-must_sign_before">{t("templates.field.must_sign_before")}</label>
        </div>
      </div>
      <ErrorAlert error={general} />
      {created && (
        <p class="alert alert-success" role="status">
          {t("templates.created", { title: created.title })}
        </p>
      )}
      <button type="submit" class="button button-primary" aria-disabled={busy}>
        {busy ? t("common.saving") : t("templates.create")}
      </button>
    </form>
  );
}
