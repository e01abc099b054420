/** Container names as the design's operations guide uses them. */
export const mongoMemberName = (n: number) => `nova-mongodb-${n}`;
