/** A panel's row action: fire and forget, a failure is logged under the panel's name (the replica shows the outcome). */
export function panelAction(panel: string): (p: Promise<unknown> | undefined) => void {
  return (p) => void p?.catch((err: unknown) => console.error(`[${panel}] action failed`, err));
}
