import { useEffect, useState } from "preact/hooks";
import { commands, type RatingGroup, type ReviewSummary } from "../bindings";
import type { AppError } from "../errors";
import { useI18n, type MessageKey } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { callCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** A mean rating as people read it: "4.3" / "4,3". */
function formatAverage(value: number, locale: string): string {
  return value.toLocaleString(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** Patients' ratings of their consultations, per doctor and per partner, and the newest comments. */
export function Reviews() {
  const { t, locale } = useI18n();
  const [summary, setSummary] = useState<ReviewSummary | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  useEffect(() => {
    callCommand(commands.reviewsSummary(), { ok: setSummary, failed: setError });
  }, []);

  return (
    <div class="card admin-wide" aria-labelledby="reviews-title" id="admin-reviews">
      <h2 id="reviews-title">{t("reviews.title")}</h2>
      <ErrorAlert error={error} />
      {summary === null && !error && <p class="muted">{t("common.loading")}</p>}
      {summary && (
        <>
          <p id="reviews-overall">
            {summary.average === null
              ? t("reviews.noneYet", { unanswered: summary.unanswered })
              : t("reviews.overall", {
                  answered: summary.answered,
                  average: formatAverage(summary.average, locale),
                  unanswered: summary.unanswered,
                })}
          </p>
          {summary.answered > 0 && (
            <>
              <RatingTable id="reviews-by-doctor" caption="reviews.byDoctor" nameHeading="reviews.doctor" none="reviews.noDoctor" groups={summary.by_doctor} />
              <RatingTable id="reviews-by-partner" caption="reviews.byPartner" nameHeading="reviews.partner" none="reviews.noPartner" groups={summary.by_partner} />
            </>
          )}
          <h3 id="reviews-comments-title">{t("reviews.latestComments")}</h3>
          {summary.latest_comments.length === 0 ? (
            <p class="muted">{t("reviews.noComments")}</p>
          ) : (
            <ul class="review-comments" aria-labelledby="reviews-comments-title">
              {summary.latest_comments.map((c) => (
                <li key={c.consultation_id} class="review-comment">
                  <p class="review-comment-head">
                    <span class="review-stars" aria-hidden="true">
                      {"★".repeat(c.rating)}
                      {"☆".repeat(5 - c.rating)}
                    </span>{" "}
                    <strong>{t("reviews.ratingOf", { rating: c.rating })}</strong>
                    <span class="muted">
                      {" · "}
                      {formatDateTime(c.submitted_at, locale)}
                      {" · "}
                      {c.doctor_name ?? t("reviews.noDoctor")}
                      {" · "}
                      {c.partner_name ?? t("reviews.noPartner")}
                      {" · "}
                      {t("reviews.consultation", { id: c.consultation_id })}
                    </span>
                  </p>
                  <blockquote class="review-comment-text">{c.comment}</blockquote>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}

function RatingTable(props: { id: string; caption: MessageKey; nameHeading: MessageKey; none: MessageKey; groups: RatingGroup[] }) {
  const { t, locale } = useI18n();
  return (
    <table class="data-table" id={props.id}>
      <caption>{t(props.caption)}</caption>
      <thead>
        <tr>
          <th scope="col">{t(props.nameHeading)}</th>
          <th scope="col" class="num">
            {t("reviews.answered")}
          </th>
          <th scope="col" class="num">
            {t("reviews.average")}
          </th>
          <th scope="col">{t("reviews.spread")}</th>
        </tr>
      </thead>
      <tbody>
        {props.groups.map((g) => (
          <tr key={g.id ?? "none"}>
            <td>{g.name ?? <span class="muted">{t(props.none)}</span>}</td>
            <td class="num">{g.answered}</td>
            <td class="num">{g.average === null ? "–" : formatAverage(g.average, locale)}</td>
            <td class="muted">
              {g.ratings.map((n, i) => t("reviews.spreadItem", { rating: i + 1, count: n })).join(" · ")}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
