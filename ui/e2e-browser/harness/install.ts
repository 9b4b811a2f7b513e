// Imported before the console's entry: the stand-in backend must answer from the first command.
import { install } from "./backend";

install();
