/** The track component's shared entity types: one car's track query and the rows its repository reads. */
export interface TrackQuery {
  vehicleId: string;
  /** inclusive bounds, epoch ms */
  from: number;
  to: number;
  maxPoints: number;
  /** no sample for longer than this is an offline gap */
  gapMs: number;
}

export interface TrackSpan {
  samples: number;
  /** epoch ms of the first and last sample (null: none) */
  first: number | null;
  last: number | null;
}
