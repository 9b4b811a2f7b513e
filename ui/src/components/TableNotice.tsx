import { useI18n } from "../i18n";

/** The row a table shows while its rows are read, or when there are none; nothing otherwise. */
export function TableNotice(props: { colSpan: number; loading: boolean; empty: boolean; emptyText: string }) {
  const { t } = useI18n();
  if (!props.loading && !props.empty) return null;
  return (
    <tr>
      <td colSpan={props.colSpan} class="muted">
        {props.loading ? t("common.loading") : props.emptyText}
      </td>
    </tr>
  );
}
