import mongoose, { Schema } from 'mongoose';

/** LibreChat's PermissionBits (`ds/common/enum.ts`); an entry's bits are OR-ed with the principal's others. */
export const PermissionBits = { VIEW: 1, EDIT: 2, DELETE: 4, SHARE: 8 } as const;
/** LibreChat's RoleBits: what `agent_viewer`/`agent_editor`/`agent_owner` grant. */
export const RoleBits = { VIEWER: 1, EDITOR: 3, MANAGER: 7, OWNER: 15 } as const;

/**
 * LibreChat's `aclentries` (`ds/schema/aclEntry.ts`): who (a user, a role name, or everyone = `public`)
 * holds which bits on which resource (`resourceId` is the resource's `_id`). The agents API writes the
 * owner entry; the sharing routes (LIBRECHAT-API.md §8) can add viewer/editor/public entries in the same shape.
 */
const aclEntrySchema = new Schema(
  {
    principalType: { type: String, enum: ['user', 'group', 'public', 'role'], required: true },
    /** The user or group ObjectId as a string, or the role name; absent for `public`. */
    principalId: { type: String },
    principalModel: { type: String, enum: ['User', 'Group', 'Role'] },
    resourceType: { type: String, required: true },
    resourceId: { type: Schema.Types.ObjectId, required: true },
    permBits: { type: Number, required: true, default: PermissionBits.VIEW },
    /** LibreChat's accessRoleId (`agent_owner`, ...), kept as the name: durachat has no accessroles collection yet. */
    accessRoleId: { type: String },
    grantedBy: { type: String },
    grantedAt: { type: Date, default: () => new Date() },
  },
  { timestamps: true },
);
aclEntrySchema.index({ principalType: 1, principalId: 1, resourceType: 1, resourceId: 1 });
aclEntrySchema.index({ resourceType: 1, resourceId: 1 });

export const AclEntry = mongoose.models.AclEntry ?? mongoose.model('AclEntry', aclEntrySchema);
