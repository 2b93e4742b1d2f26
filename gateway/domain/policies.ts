/** Named policies and their immutable versions (DESIGN §6). */

export interface PolicyPointer {
  workspaceId: string;
  name: string;
  versionId: string;
  version: number;
  updatedAt: number;
}

export interface PolicyVersion {
  id: string;
  workspaceId: string;
  name: string;
  version: number;
  document: unknown;
  contentHash: string;
  createdBy: string | null;
  createdAt: number;
  /** Issue 23: the Git commit a synced version was read at, and its author; null when put by hand. */
  commit: { id: string; author: string | null } | null;
}
