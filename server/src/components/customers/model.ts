/** The customers component's shared entity types: a stored customer, its status and its licence's stored status. */

export type CustomerStatus = 'active' | 'blocked';
export type StoredLicenceStatus = 'none' | 'pending' | 'verified' | 'rejected' | 'expired';

export interface CustomerRecord {
  id: string;
  email: string;
  name: string;
  phone: string;
  status: CustomerStatus;
  blockedReason: string | null;
  licence: {
    status: StoredLicenceStatus;
    number: string | null;
    country: string | null;
    /** YYYY-MM-DD */
    expiresOn: string | null;
    reason: string | null;
    checkedAt: string | null;
  };
  createdAt: string;
  updatedAt: string;
}
