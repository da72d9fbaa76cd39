/** JSON Schema pieces shared by modules that manage files and directories. */
export const modeSchema = {
  type: 'string',
  pattern: '^[0-7]{3,4}$',
  description: 'Octal permissions as a quoted string, e.g. "0640" (unquoted YAML 0640 is not octal).',
} as const;

export const ownerSchema = {
  type: 'string',
  minLength: 1,
  description: 'User name or numeric uid.',
} as const;
export const groupSchema = {
  type: 'string',
  minLength: 1,
  description: 'Group name or numeric gid.',
} as const;

export const absolutePathSchema = {
  type: 'string',
  pattern: '^/',
  description: 'Absolute path on the target host.',
} as const;
