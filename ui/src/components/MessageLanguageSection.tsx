import { useEffect, useState } from "preact/hooks";
import { commands, type Language } from "../bindings";
import { useI18n } from "../i18n";
import { useCommand } from "../useCommand";
import { ErrorAlert } from "./ErrorAlert";

const LANGUAGES: readonly Language[] = ["nb", "en"];

/**
 * On the patient card: the language the clinic writes to the patient in (messages and the pages
 * they open from them). Support agents and admins change it when the patient asks; everyone else
 * sees it.
 */
export function MessageLanguageSection(props: {
  personId: number;
  language: Language;
  maySet: boolean;
  onChanged: () => void;
}) {
  const { t } = useI18n();
  const [chosen, setChosen] = useState<Language>(props.language);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useCommand();
  useEffect(() => setChosen(props.language), [props.language]);

  function save(e: Event) {
    e.preventDefault();
    if (busy) return;
    setSaved(false);
    run(commands.patientSetMessageLanguage(props.personId, chosen), {
      ok: () => {
        setSaved(true);
        props.onChanged();
      },
    });
  }

  return (
    <section class="card card-section" aria-labelledby="card-language-title">
      <h2 id="card-language-title">{t("card.messageLanguage")}</h2>
      <p class="hint" id="card-language-hint">
        {t("card.messageLanguageHint")}
      </p>
      {!props.maySet && <p id="card-language-current">{t(`card.language.${props.language}`)}</p>}
      {props.maySet && (
        <form class="language-form" onSubmit={save}>
          <div class="field">
            <label for="card-language-select">{t("card.messageLanguageLabel")}</label>
            <select
            id="card-language-select"
            aria-describedby="card-language-hint"
            value={chosen}
            onChange={(e) => {
              setSaved(false);
              setChosen(e.currentTarget.value as Language);
            }}
          >
              {LANGUAGES.map((l) => (
                <option key={l} value={l}>
                  {t(`card.language.${l}`)}
                </option>
              ))}
            </select>
          </div>
          <div class="button-row">
            <button type="submit" class="button button-secondary" aria-disabled={busy}>
              {t("card.messageLanguageSave")}
            </button>
          </div>
        </form>
      )}
      {saved && !error && (
        <p class="alert alert-success" role="status" id="card-language-saved">
          {t("card.messageLanguageSaved", { language: t(`card.language.${props.language}`) })}
        </p>
      )}
      <ErrorAlert error={error} />
    </section>
  );
}
