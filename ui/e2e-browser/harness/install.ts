// Imported before the console's entry: the bridge must answer from the first command.
import { install } from "./bridge";

install();
