import { randomBytes } from 'node:crypto';

/** 128 random bits, base64url: unguessable, so a job id alone never leaks another user's work. */
export function newJobId(): string {
  return randomBytes(16).toString('base64url');
}

const JOB_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/** Whether `id` could have come from `newJobId` (anything else is answered 404 without a lookup). */
export function isJobIdShaped(id: string): boolean {
  return JOB_ID_SHAPE.test(id);
}
