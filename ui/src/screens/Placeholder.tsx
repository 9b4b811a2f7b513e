import type { Ref } from "preact";
import { useI18n } from "../i18n";

/** Stands in for a screen that a later version of the console fills in. */
export function Placeholder(props: { title: string; headingRef?: Ref<HTMLHeadingElement> }) {
  const { t } = useI18n();
  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {props.title}
      </h1>
      <div class="card empty-state">
        <p>{t("shell.placeholder")}</p>
      </div>
    </section>
  );
}
