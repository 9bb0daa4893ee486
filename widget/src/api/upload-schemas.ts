/**
 * The resumable server-key upload's bodies, as the issue-17 contract gives them, until
 * `protocol/public-api.ts` carries them (then this file goes and the client imports those).
 */
import { z } from 'zod';

export const ServerKeyUploadRequest = z.object({ size: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict();
export type ServerKeyUploadRequest = z.infer<typeof ServerKeyUploadRequest>;

export const UploadedPart = z.object({ partNumber: z.number().int().positive(), size: z.number().int().positive() });
export type UploadedPart = z.infer<typeof UploadedPart>;

export const ServerKeyUpload = z.object({
  uploadId: z.string().min(1).max(512),
  partSize: z.number().int().positive(),
  partCount: z.number().int().positive(),
  parts: z.array(UploadedPart),
});
export type ServerKeyUpload = z.infer<typeof ServerKeyUpload>;

export const uploadPath = {
  uploads: (sessionId: string) => `/v1/sessions/${encodeURIComponent(sessionId)}/server-key/uploads`,
  upload: (sessionId: string, uploadId: string) => `${uploadPath.uploads(sessionId)}/${encodeURIComponent(uploadId)}`,
  part: (sessionId: string, uploadId: string, partNumber: number) => `${uploadPath.upload(sessionId, uploadId)}/parts/${partNumber}`,
  complete: (sessionId: string, uploadId: string) => `${uploadPath.upload(sessionId, uploadId)}/complete`,
} as const;
