/**
 * A confirmation for actions that cannot be taken back lightly (immobilize, refund, block, cancel a booking): a
 * modal alert dialog that names what will happen. Keyboard: focus starts on "Go back" (the safe choice), Tab stays
 * inside, Escape goes back. `useConfirm()` gives the ask function and the element to render.
 */
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface ConfirmRequest {
  /** a question naming the action and its object, e.g. "Immobilize B-FD 1234?" */
  title: string;
  /** what will happen, in plain words */
  detail: ReactNode;
  /** the confirming button's label, a verb: "Immobilize", "Refund EUR 12.50" */
  confirmLabel: string;
  onConfirm: () => void;
}

export function useConfirm(): [(request: ConfirmRequest) => void, ReactNode] {
  const [request, setRequest] = useState<ConfirmRequest | undefined>(undefined);
  const close = useCallback(() => setRequest(undefined), []);
  const element = request ? (
    <ConfirmDialog
      request={request}
      onCancel={close}
      onConfirm={() => {
        close();
        request.onConfirm();
      }}
    />
  ) : null;
  return [setRequest, element];
}

function ConfirmDialog({ request, onCancel, onConfirm }: { request: ConfirmRequest; onCancel: () => void; onConfirm: () => void }) {
  const titleId = useId();
  const detailId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    cancelRef.current?.focus();
    return () => previous?.focus?.();
  }, []);
  return (
    <div className="confirm-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <div
        className="confirm-dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={detailId}
        data-testid="confirm-dialog"
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            onCancel();
          } else if (e.key === 'Tab') {
            // two buttons: keep the focus inside the dialog
            e.preventDefault();
            (document.activeElement === cancelRef.current ? confirmRef : cancelRef).current?.focus();
          }
        }}
      >
        <h2 id={titleId} className="confirm-title">
          {request.title}
        </h2>
        <div id={detailId} className="confirm-detail">
          {request.detail}
        </div>
        <div className="confirm-actions">
          <button type="button" ref={cancelRef} onClick={onCancel} data-testid="confirm-cancel">
            Go back
          </button>
          <button type="button" ref={confirmRef} className="danger-button" onClick={onConfirm} data-testid="confirm-accept">
            {request.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
