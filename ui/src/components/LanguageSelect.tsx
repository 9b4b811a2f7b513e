import { LANGUAGES, isLanguage, useI18n } from "../i18n";

/** The language switch. Each option is written in its own language. */
export function LanguageSelect(props: { id: string }) {
  const { language, setLanguage, t } = useI18n();
  return (
    <div class="language-select">
      <label for={props.id}>{t("language.label")}</label>
      <select
        id={props.id}
        value={language}
        onChange={(event) => {
          const value = event.currentTarget.value;
          if (isLanguage(value)) setLanguage(value);
        }}
      >
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang} lang={lang}>
            {t(`language.${lang}`)}
          </option>
        ))}
      </select>
    </div>
  );
}
