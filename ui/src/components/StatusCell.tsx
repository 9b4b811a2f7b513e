/**
 * A row's status in an administrator's list, with the one thing they can do to the row (deactivate
 * a login, revoke a workstation) under it, when they can. `action.label` is the button's text and
 * `action.fullLabel` what it says to a screen reader, naming the row.
 */
export function StatusCell(props: {
  statusClass: string;
  status: string;
  action: { label: string; fullLabel: string; onClick: () => void } | null;
}) {
  const { action } = props;
  return (
    <td>
      <span class={props.statusClass}>{props.status}</span>
      {action && (
        <>
          <br />
          <button type="button" class="button button-link" aria-label={action.fullLabel} onClick={action.onClick}>
            {action.label}
          </button>
        </>
      )}
    </td>
  );
}
