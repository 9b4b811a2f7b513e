import { useEffect, useState } from "preact/hooks";
import { commands, type AppliesTo, type OnboardingRule, type RuleForm, type Template } from "../bindings";
import { FieldError } from "../components/FieldError";
import type { AppError } from "../errors";
import type { Translate } from "../i18n";
import { useI18n } from "../i18n";
import { callCommand, useCommand, type CommandResult } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

const APPLIES: AppliesTo[] = ["new_persons", "known_persons", "everyone"];

/** Checks a new rule before it is sent, as the core does. */
export function checkRuleName(name: string, t: Translate): AppError | null {
  const trimmed = name.trim();
  if (!trimmed || [...trimmed].length > 200) return { code: "invalid_input", message: t("rules.nameInvalid"), field: "name" };
  return null;
}

/**
 * Which forms the clinic requires of a patient at onboarding, rule by rule; admins change them.
 * `templatesChanged` changes when a template was created or published on the same screen.
 */
export function OnboardingRules(props: { templatesChanged?: number }) {
  const { t } = useI18n();
  const [rules, setRules] = useState<OnboardingRule[] | null>(null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    callCommand(commands.onboardingRules(), { ok: setRules, failed: setError });
  }, []);
  // The templates a rule may require; read again when one was created or published on this screen.
  useEffect(() => {
    callCommand(commands.formTemplates(), { ok: setTemplates, failed: setError });
  }, [props.templatesChanged]);

  function replace(rule: OnboardingRule) {
    setRules((old) => (old ?? []).map((r) => (r.id === rule.id ? rule : r)));
  }

  return (
    <div class="card admin-wide" aria-labelledby="rules-title">
      <h2 id="rules-title">{t("rules.title")}</h2>
      <p class="hint">{t("rules.hint")}</p>
      <ErrorAlert error={error} />
      <p class="sr-only" role="status">
        {notice ?? ""}
      </p>
      {rules !== null && rules.length === 0 && <p class="muted">{t("rules.none")}</p>}
      <ul class="rule-list">
        {rules?.map((rule) => (
          <RuleItem
            key={rule.id}
            rule={rule}
            templates={templates}
            onChanged={(r, message) => {
              replace(r);
              setError(null);
              setNotice(message);
            }}
            onError={setError}
          />
        ))}
      </ul>
      <NewRuleForm
        onAdded={(rule) => {
          setRules((old) => [...(old ?? []), rule]);
          setNotice(t("rules.added", { name: rule.name }));
        }}
      />
    </div>
  );
}

function RuleItem(props: {
  rule: OnboardingRule;
  templates: Template[];
  onChanged: (r: OnboardingRule, notice: string) => void;
  onError: (e: AppError) => void;
}) {
  const { t } = useI18n();
  const rule = props.rule;
  const id = `rule-${rule.id}`;
  const choices = props.templates.filter((tpl) => !rule.forms.some((f) => f.template_id === tpl.id));
  const [template, setTemplate] = useState("");
  const [blocking, setBlocking] = useState(true);
  const { busy, setError, run, fieldError, generalError } = useCommand();

  function call(p: Promise<CommandResult<OnboardingRule>>, notice: string) {
    callCommand(p, { ok: (r) => props.onChanged(r, notice), failed: props.onError });
  }

  function add(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (!template) {
      setError({ code: "invalid_input", message: t("rules.chooseTemplate"), field: "template_id" });
      document.getElementById(`${id}-template`)?.focus();
      return;
    }
    run(commands.ruleRequireForm(rule.id, Number(template), blocking), {
      ok: (changed) => {
        setTemplate("");
        setBlocking(true);
        const title = props.templates.find((x) => x.id === Number(template))?.title ?? "";
        props.onChanged(changed, t("rules.required", { title }));
      },
      failed: (err) => {
        if (err.field === "template_id") document.getElementById(`${id}-template`)?.focus();
      },
    });
  }

  const templateError = fieldError("template_id");
  const general = generalError(["template_id"]);
  return (
    <li class="rule-item" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{rule.name}</h3>
      <p class="template-facts">
        {t(`rules.appliesTo.${rule.applies_to}` as "rules.appliesTo.everyone")}
        {rule.active ? "" : ` · ${t("rules.inactive")}`}
        {rule.welcome_email ? ` · ${t("rules.welcomeEmail")}` : ""}
      </p>
      {rule.forms.length === 0 ? (
        <p class="muted">{t("rules.noForms")}</p>
      ) : (
        <ul class="rule-forms" aria-label={t("rules.formsOf", { name: rule.name })}>
          {rule.forms.map((f) => (
            <RuleFormRow
              key={f.action_id}
              form={f}
              rule={rule}
              onBlocking={(b) =>
                call(
                  commands.ruleFormSetBlocking(f.action_id, b),
                  t(b ? "rules.nowBlocking" : "rules.nowNotBlocking", { title: f.title }),
                )
              }
              onRemove={() => call(commands.ruleFormRemove(f.action_id), t("rules.removed", { title: f.title }))}
            />
          ))}
        </ul>
      )}
      <div class="field field-check rule-welcome">
        <input
          id={`${id}-welcome`}
          type="checkbox"
          checked={rule.welcome_email}
          aria-describedby={`${id}-welcome-hint`}
          onChange={(e) => {
            const on = (e.target as HTMLInputElement).checked;
            call(commands.ruleSetWelcomeEmail(rule.id, on), t(on ? "rules.welcomeAdded" : "rules.welcomeRemoved"));
          }}
        />
        <div>
          <label for={`${id}-welcome`}>{t("rules.welcomeOn")}</label>
          <p class="hint" id={`${id}-welcome-hint`}>
            {t("rules.welcomeHint")}
          </p>
        </div>
      </div>
      <form class="form rule-add" onSubmit={add} noValidate>
        <div class={`field${templateError ? " has-error" : ""}`}>
          <label for={`${id}-template`}>{t("rules.addForm")}</label>
          <select
            id={`${id}-template`}
            value={template}
            onChange={(e) => setTemplate((e.target as HTMLSelectElement).value)}
            aria-invalid={!!templateError}
            aria-describedby={templateError ? `${id}-template-error` : undefined}
          >
            <option value="">{t("rules.chooseTemplateOption")}</option>
            {choices.map((tpl) => (
              <option key={tpl.id} value={String(tpl.id)}>
                {tpl.title}
              </option>
            ))}
          </select>
          <FieldError id={`${id}-template-error`} message={templateError} />
        </div>
        <div class="field field-check">
          <input
            id={`${id}-blocking`}
            type="checkbox"
            checked={blocking}
            onChange={(e) => setBlocking((e.target as HTMLInputElement).checked)}
          />
          <div>
            <label for={`${id}-blocking`}>{t("rules.blockingNew")}</label>
          </div>
        </div>
        <ErrorAlert error={general} />
        <button type="submit" class="button button-secondary" aria-disabled={busy}>
          {t("rules.require")}
        </button>
      </form>
    </li>
  );
}

function RuleFormRow(props: {
  form: RuleForm;
  rule: OnboardingRule;
  onBlocking: (b: boolean) => void;
  onRemove: () => void;
}) {
  const { t } = useI18n();
  const f = props.form;
  const box = `rule-form-${f.action_id}-blocking`;
  return (
    <li>
      <span class="rule-form-title">
        {f.title} <code class="muted">{f.key}</code>
        {!f.published && <span class="badge badge-form-pending">{t("rules.unpublished")}</span>}
      </span>
      <span class="rule-form-blocking">
        <input
          id={box}
          type="checkbox"
          checked={f.blocking}
          aria-label={t("rules.blockingFor", { title: f.title })}
          onChange={(e) => props.onBlocking((e.target as HTMLInputElement).checked)}
        />{" "}
        <label for={box}>{t("rules.blocking")}</label>
      </span>
      <button
        type="button"
        class="button button-link"
        aria-label={t("rules.removeFrom", { title: f.title, name: props.rule.name })}
        onClick={props.onRemove}
      >
        {t("rules.remove")}
      </button>
    </li>
  );
}

function NewRuleForm(props: { onAdded: (r: OnboardingRule) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [applies, setApplies] = useState<AppliesTo>("new_persons");
  const { busy, error, setError, run, fieldError } = useCommand();

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const problem = checkRuleName(name, t);
    if (problem) {
      setError(problem);
      document.getElementById("new-rule-name")?.focus();
      return;
    }
    run(commands.onboardingRuleAdd(name, applies), {
      ok: (added) => {
        setName("");
        props.onAdded(added);
      },
      failed: (err) => {
        if (err.field === "name") document.getElementById("new-rule-name")?.focus();
      },
    });
  }

  const nameError = fieldError("name");
  return (
    <form class="form new-rule" onSubmit={submit} noValidate aria-labelledby="new-rule-heading">
      <h3 id="new-rule-heading">{t("rules.new")}</h3>
      <div class="field-row">
        <div class={`field${nameError ? " has-error" : ""}`}>
          <label for="new-rule-name">{t("rules.name")}</label>
          <input
            id="new-rule-name"
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            aria-invalid={!!nameError}
            aria-describedby={nameError ? "new-rule-name-error" : undefined}
          />
          <FieldError id="new-rule-name-error" message={nameError} />
        </div>
        <div class="field">
          <label for="new-rule-applies">{t("rules.appliesToLabel")}</label>
          <select id="new-rule-applies" value={applies} onChange={(e) => setApplies((e.target as HTMLSelectElement).value as AppliesTo)}>
            {APPLIES.map((a) => (
              <option key={a} value={a}>
                {t(`rules.appliesTo.${a}` as "rules.appliesTo.everyone")}
              </option>
            ))}
          </select>
        </div>
      </div>
      {!nameError && <ErrorAlert error={error} />}
      <button type="submit" class="button button-secondary" aria-disabled={busy}>
        {t("rules.addRule")}
      </button>
    </form>
  );
}
