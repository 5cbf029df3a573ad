/**
 * The back office: the desk's screens that are not about the live fleet — money, the audit trail, and (admins) the
 * fleet registry, devices, tariffs, zones and staff accounts. Each screen is one entry here; the desk shows the
 * entries the operator's role may use (the capability from src/shared/permissions.ts, the table the server
 * enforces), in this order. A screen lives in its own feature folder and is only referenced here.
 */
import type { ReactNode } from 'react';
import type { Capability } from '../../../../shared/permissions.js';
import { AuditViewer } from '../audit-viewer/AuditViewer';
import { TariffsScreen } from '../business-admin/TariffsScreen';
import { ZonesScreen } from '../business-admin/ZonesScreen';
import { DevicesAdmin } from '../fleet-admin/DevicesAdmin';
import { VehiclesAdmin } from '../fleet-admin/VehiclesAdmin';
import { PaymentsAttention } from '../money/PaymentsAttention';
import { Reconciliation } from '../money/Reconciliation';
import { StaffAccounts } from '../staff-admin/StaffAccounts';

/** What a back-office screen gets from the desk. */
export interface BackOfficeContext {
  /** the desk's clock (ms), ticking once a second */
  now: number;
  plateOf: (vehicleId: string) => string;
  /** back to the operations view with this car selected on the map */
  selectVehicle: (vehicleId: string) => void;
}

export interface BackOfficeSection {
  id: string;
  label: string;
  /** one line under the label in the section list */
  hint: string;
  /** the role may see the section (what it may do inside is checked per action) */
  capability: Capability;
  render: (ctx: BackOfficeContext) => ReactNode;
}

export const BACK_OFFICE_SECTIONS: readonly BackOfficeSection[] = [
  {
    id: 'payments',
    label: 'Payments',
    hint: 'Failed charges, releases, refunds',
    capability: 'payment.read',
    render: (ctx) => <PaymentsAttention {...ctx} />,
  },
  {
    id: 'reconciliation',
    label: 'Reconciliation',
    hint: 'Our ledger against the provider’s',
    capability: 'payment.reconcile',
    render: () => <Reconciliation />,
  },
  {
    id: 'audit',
    label: 'Audit',
    hint: 'Who changed what, when and why',
    capability: 'audit.read',
    render: (ctx) => <AuditViewer {...ctx} />,
  },
  {
    id: 'vehicles',
    label: 'Vehicles',
    hint: 'Register, import, change and retire cars',
    capability: 'vehicle.manage',
    render: () => <VehiclesAdmin />,
  },
  {
    id: 'devices',
    label: 'Devices',
    hint: 'Provision and revoke telematics credentials',
    capability: 'device.credentials',
    render: () => <DevicesAdmin />,
  },
  {
    id: 'tariffs',
    label: 'Tariffs',
    hint: 'Prices per vehicle type, versioned',
    capability: 'tariff.manage',
    render: () => <TariffsScreen />,
  },
  {
    id: 'zones',
    label: 'Zones',
    hint: 'Operating, no-parking and service zones',
    capability: 'zone.manage',
    render: (ctx) => <ZonesScreen now={ctx.now} />,
  },
  {
    id: 'staff',
    label: 'Staff',
    hint: 'Accounts, roles, passwords',
    capability: 'staff.manage',
    render: () => <StaffAccounts />,
  },
];
