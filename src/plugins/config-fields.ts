// zod builders for plugin config fields with Kong's implicit rules: a Kong schema string
// accepts no empty value unless it says otherwise (len_min defaults to 1).
import { z } from 'zod';

export const text = () => z.string().min(1, 'length must be at least 1');
