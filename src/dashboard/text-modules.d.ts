// Browser files embedded as text (`import x from "./file.js" with { type: "text" }`), so the compiled
// executable carries the dashboard without files beside it.
declare module "*.js" {
  const text: string;
  export default text;
}

declare module "*.css" {
  const text: string;
  export default text;
}
