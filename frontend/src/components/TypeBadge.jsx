// The small coloured label naming a metric's type (gauge, counter, enum, histogram).
export const TypeBadge = ({ type }) => <span className={`badge badge-${type}`}>{type}</span>;
