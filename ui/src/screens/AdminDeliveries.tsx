import { useEffect, useState } from "preact/hooks";
import { commands, type CrmSync, type Delivery } from "../bindings";
import type { AppError } from "../errors";
import { formatDateTime } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** The newest outgoing webhook deliveries and their state. */
export function Deliveries() {
  const { t, locale } = useI18n();
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  useEffect(() => {
    callCommand(commands.webhookDeliveries(), { ok: setRows, failed: setError });
  }, []);
  return (
    <div class="card" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">{t("deliveries.title")}</h2>
      <ErrorAlert error={error} />
      {rows !== null && rows.length === 0 ? (
        <p class="muted">{t("deliveries.none")}</p>
      ) : (
        <table class="data-table" aria-labelledby="deliveries-title">
          <thead>
            <tr>
              <th scope="col">{t("deliveries.event")}</th>
              <th scope="col">{t("deliveries.status")}</th>
              <th scope="col">{t("deliveries.attempts")}</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((d) => (
              <tr key={d.id}>
                <td>{d.event_type}</td>
                <td>
                  {t(`deliveries.status.${d.status}` as "deliveries.status.pending")}
                  <br />
                  <span class="muted">
                    {d.delivered_at
                      ? formatDateTime(d.delivered_at, locale)
                      : d.last_status
                        ? `HTTP ${d.last_status}`
                        : d.last_error ?? ""}
                  </span>
                </td>
                <td class="num">{d.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The newest CRM syncs (HubSpot contacts and concierge tasks) and their state. */
export function CrmSyncs() {
  const { t, locale } = useI18n();
  const [rows, setRows] = useState<CrmSync[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  useEffect(() => {
    callCommand(commands.crmSyncs(), { ok: setRows, failed: setError });
  }, []);
  return (
    <div class="card admin-wide" aria-labelledby="crm-title">
      <h2 id="crm-title">{t("crm.title")}</h2>
      <ErrorAlert error={error} />
      {rows !== null && rows.length === 0 ? (
        <p class="muted">{t("crm.none")}</p>
      ) : (
        <table class="data-table" aria-labelledby="crm-title">
          <thead>
            <tr>
              <th scope="col">{t("crm.event")}</th>
              <th scope="col">{t("crm.kind")}</th>
              <th scope="col">{t("crm.state")}</th>
              <th scope="col">{t("crm.attempts")}</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((s) => (
              <tr key={s.id}>
                <td>{s.event_type}</td>
                <td>{t(`crm.kind.${s.kind}` as "crm.kind.contact")}</td>
                <td>
                  {t(`crm.state.${s.state}` as "crm.state.pending")}
                  <br />
                  <span class="muted">
                    {s.synced_at ? formatDateTime(s.synced_at, locale) : s.last_error ?? ""}
                  </span>
                </td>
                <td class="num">{s.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
