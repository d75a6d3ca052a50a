/** A subject as enrolled: nothing changes it afterwards (site and arm included). */
export interface Subject {
  study: string;
  id: string;
  site: string;
  arm: string;
  enrolledAt: string;
  enrolledBy: string;
}
