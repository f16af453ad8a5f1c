//! State and key tests, with no terminal: records and keys go into the
//! cockpit's, the history browser's, the replay's and the review form's
//! state, and the tests check the state and the effects it asks for.

use slate_testkit as common;

mod board;
mod cockpit;
mod history;
mod history_paging;
mod replay;
mod review;
mod watchers;
