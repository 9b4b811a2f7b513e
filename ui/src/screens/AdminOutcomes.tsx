import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type Outcome } from "../bindings";
import { FieldError } from "../components/FieldError";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** The outcomes doctors choose from; admins add and retire them. */
export function Outcomes() {
  const { t } = useI18n();
  const [list, setList] = useState<Outcome[] | null>(null);
  const [label, setLabel] = useState("");
  const { busy, error, setError, run, fieldError } = useCommand();

  const load = useCallback(() => {
    callCommand(commands.outcomesList(), { ok: setList, failed: setError });
  }, [setError]);
  useEffect(load, [load]);

  function add(e: Event) {
    e.preventDefault();
    if (busy) return;
    run(commands.outcomeAdd(label), {
      ok: () => {
        setLabel("");
        load();
      },
    });
  }

  // A change of the list keeps any error shown until the next form is sent.
  function toggle(o: Outcome) {
    callCommand(commands.outcomeSetActive(o.code, !o.active), { ok: load, failed: setError });
  }

  const fieldMessage = fieldError("label");
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
        {!fieldMessage && <ErrorAlert error={error} />}
        <button type="submit" class="button button-secondary">
          {t("outcomes.add")}
        </button>
      </form>
    </div>
  );
}
